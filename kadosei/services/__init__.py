"""Use cases: plain typed functions shared by the API and the portal. One commit per use case."""
