# This module only renders text (templatefile): it needs no provider, so it can be planned and
# applied offline (scripts/check-terraform.sh does, through render-test/).
terraform {
  required_version = ">= 1.5.0"
}
