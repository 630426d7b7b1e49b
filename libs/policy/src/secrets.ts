import { type CelFunc, CelScalar, celFunc } from "@bufbuild/cel";

/**
 * The secrets `secrets.get(vault, name)` reads, ngrok's vaults in Onramp form. The edge builds one
 * from its config file's `secrets:` map and the `ONRAMP_SECRET_<VAULT>__<NAME>` environment
 * variables (see `secretEnvName`) and hands it to `loadPolicy`; the library reads no environment.
 * Values never appear in errors or logs: messages name the vault and the secret, nothing more.
 */
export interface SecretStore {
  /** The value, or undefined when the vault or the secret does not exist. */
  get(vault: string, name: string): string | undefined;
}

/**
 * The environment variable holding secret `name` of `vault`: both upper-cased, every character
 * other than a letter or digit turned into `_`, joined by a double underscore (so vault `my-vault`
 * and secret `api_key` is `ONRAMP_SECRET_MY_VAULT__API_KEY`). A single `_` can be part of either
 * name, so it cannot separate them.
 */
export function secretEnvName(vault: string, name: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  return `ONRAMP_SECRET_${part(vault)}__${part(name)}`;
}

export interface SecretSources {
  /** `vault → name → value`, e.g. the edge config's `secrets:` map; wins over `env`. */
  readonly vaults?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Environment variables (the caller passes them in), read by `secretEnvName`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A store over the config's vaults, then the environment. */
export function createSecretStore(sources: SecretSources): SecretStore {
  const vaults = new Map(Object.entries(sources.vaults ?? {}).map(([vault, secrets]) => [vault, new Map(Object.entries(secrets))]));
  const env = sources.env ?? {};
  return {
    get(vault, name) {
      const fromConfig = vaults.get(vault)?.get(name);
      if (fromConfig !== undefined) return fromConfig;
      const key = secretEnvName(vault, name);
      return Object.hasOwn(env, key) ? env[key] : undefined;
    },
  };
}

/**
 * `secrets.get(vault, name) -> string`. An unknown secret reads as `""` at run time; with a store
 * given at load, `loadPolicy` rejects a reference whose vault and name are both literals and
 * unknown (cel-check.ts), so a typo fails the load rather than every request.
 */
export function secretsFunction(store: () => SecretStore | undefined): CelFunc {
  return celFunc("secrets.get", [CelScalar.STRING, CelScalar.STRING], CelScalar.STRING, (vault: string, name: string) => store()?.get(vault, name) ?? "");
}
