"""Factories that build real rows through the services, as a merchant would."""

from __future__ import annotations

import itertools

from kadosei.schemas.requests import ApiKeyCreate, ApplicationCreate, Signup
from kadosei.services import accounts, api_keys, applications, tokens

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


class Factories:
    def __init__(self, app):
        self.app = app

    def make_merchant(self, name: str | None = None, email: str | None = None, password=PASSWORD):
        n = next(_counter)
        signup = Signup(
            name=name or f"Merchant {n}", email=email or f"owner{n}@example.com", password=password
        )
        merchant, user = accounts.create_merchant(signup)
        return merchant, user

    def make_application(self, merchant=None, name: str = "Web store"):
        if merchant is None:
            merchant, _ = self.make_merchant()
        return applications.create_application(merchant.id, ApplicationCreate(name=name))

    def make_api_key(self, application=None, mode: str = "test", name: str | None = None):
        """A new key; returns (ApiKey row, secret)."""
        if application is None:
            application = self.make_application()
        created = api_keys.create_api_key(application, ApiKeyCreate(mode=mode, name=name))
        return created.api_key, created.secret

    def access_token(self, user) -> str:
        return tokens.login_tokens(user).access_token

    def jwt_headers(self, user) -> dict:
        return {"Authorization": f"Bearer {self.access_token(user)}"}

    @staticmethod
    def key_headers(secret: str) -> dict:
        return {"Authorization": f"Bearer {secret}"}
