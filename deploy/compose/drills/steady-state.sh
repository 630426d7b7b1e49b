#!/usr/bin/env bash
# Drill 0: steady load while nothing breaks. Goal: nothing fails.
source "$(dirname "$0")/lib/common.sh"
drill run --name "0. steady state" --goal none-failed --duration 4000
