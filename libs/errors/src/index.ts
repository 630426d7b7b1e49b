export { ErrorCode, ERROR_CODE_HEADER, headerValueOf, httpStatusOf, parseErrorCode } from "./codes.js";
export { OnrampError } from "./onramp-error.js";
