"""A stand-in for the ``hashicorp/aws`` 6.69.1 and ``hashicorp/tls`` 4.4.1 Terraform providers.

Test infrastructure, not a provider: it lets the real ``terraform`` CLI (1.11.4) init, validate,
plan, apply and output kyeol's real roots on a machine with no registry and no AWS.

What it models
  * Plugin protocol 6 over gRPC with go-plugin's handshake and TLS (``proto/``, compiled with
    grpcio-tools by ``build.py`` into a cache folder; never committed as generated code).
  * The real schema of every type the tree uses: attributes with cty types, computed-only
    attributes, nesting modes, min/max items, sensitive and write-only flags (``schema.py``,
    from ``tools/provider_schema/aws-6.69.1.typed.json.gz``; tls from its documentation).
    Only the types the tree uses are served (``tree.py`` scans the tree when the tests build it).
  * Generic semantics (``semantics.py``): a computed attribute null in config is unknown on
    create and keeps its prior value on update (recursively); write-only attributes are planned
    null; ``default_tags`` → ``tags_all``; read returns prior state; apply fills unknowns with
    synthetic values of the right type that look like AWS's (``synthetic.py``); ephemeral
    resources open and close.
  * Data sources read at plan time return known values: canned answers for what the tree reads
    (``datasources.py``: availability zones, caller identity, region, partition, policy
    documents rendered to real policy JSON, the hosted zone, the us-east-1 certificate and web
    ACL, CloudFront managed policies and prefix list), typed synthetic values for the rest.

What it cannot do
  * The provider's own validators (allowed values, CIDR formats, ConflictsWith): Terraform's
    checks (types, required arguments, unknown attributes, for_each/count, cycles, variable
    validation, ephemeral rules) are the real ones; AWS's API-side rules are not modelled.
  * Realistic behaviour of AWS (eventual consistency, errors, real ids): state is synthetic.
  * Upgrades of state written by the real provider, import, and moved-across-types.
"""
