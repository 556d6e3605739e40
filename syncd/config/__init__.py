"""The configuration (README "Configuration"): one schema, and everything derived from it.

`schema.SCHEMA` is the single source of truth: for every key it gives the type, the default, a
description and an example. From it, in the order a config file meets them:

- `load`: finding the file and reading its YAML (duplicate keys refused), then the two passes;
- `check`: the structural pass, keys and types against the schema, `${VAR}` expanded, defaults
  filled in;
- `build`: the semantic pass, what the types alone do not say (the token's source, the base URL,
  the time zone, the state folder), into the frozen `settings.Config` the rest of syncd reads;
- `generate`: config.example.yaml, the README's table of keys and the starter config of
  `syncd init`;
- `permissions`: warnings about files holding the token that others may read.

Conventions a user can rely on: `${VAR}` in any string value is replaced by the environment
variable VAR (`$${VAR}` for a literal `${VAR}`; an unset variable is an error); `~` is the home
folder; a relative path is relative to the config file's folder. The Readwise token never
appears in an error message or a repr.
"""
