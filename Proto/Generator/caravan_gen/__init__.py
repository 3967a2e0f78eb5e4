"""Caravan's Swift and C-support code generator (run by Proto/generate.sh)."""
