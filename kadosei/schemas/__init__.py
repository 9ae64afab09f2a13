"""The contract in code: typed request and response models, the limits they share with the
models and portal forms, and the OpenAPI document generated from them (docs/api.md).

Deliberately empty: ``kadosei.models`` imports ``kadosei.schemas.limits``, so importing this
package must not import the request models (which import ``kadosei.models``).
"""
