"""Getting a certificate over ACME (RFC 8555) with certbot's ``acme`` library.

One call does the whole order: account (created, or found again from its key), new order for
the domains, an http-01 answer per authorisation, finalisation with a CSR for a fresh EC P-256
key, and the certificate chain. Synchronous (the library uses ``requests``): callers in async
code run it in a thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from acme import challenges, client, errors, messages
from acme import crypto_util as acme_crypto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.jwa import ES256
from josepy.jwk import JWKEC

from ragaas.certs.challenge import Responder

USER_AGENT = "ragaas-acme"
ORDER_TIMEOUT_SECONDS = 120


class AcmeError(Exception):
    """The ACME server refused or the challenge failed; the message says which and why."""


@dataclass(frozen=True)
class AcmeAccount:
    key_pem: bytes  # EC P-256, PKCS#8
    url: str


@dataclass(frozen=True)
class Obtained:
    fullchain_pem: str
    key_pem: bytes
    account: AcmeAccount


def new_private_key_pem() -> bytes:
    """A fresh EC P-256 key in PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _jwk(key_pem: bytes) -> JWKEC:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise AcmeError("the stored ACME account key is not an EC key")
    return JWKEC(key=key)


def _connect(directory_url: str, key: JWKEC, ca_bundle: Path | None) -> client.ClientV2:
    # requests takes a CA bundle path where the library's annotation says bool.
    verify: bool = str(ca_bundle) if ca_bundle is not None else True  # type: ignore[assignment]
    net = client.ClientNetwork(key, alg=ES256, user_agent=USER_AGENT, verify_ssl=verify)
    return client.ClientV2(client.ClientV2.get_directory(directory_url, net), net=net)


def _register(acme: client.ClientV2, email: str | None) -> str:
    """The account of this key: created (terms agreed), or found again when it exists."""
    registration = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
    try:
        return str(acme.new_account(registration).uri)
    except errors.ConflictError as existing:
        location = str(existing.location)
        acme.net.account = messages.RegistrationResource(uri=location, body=messages.Registration())
        return location


def _answer(acme: client.ClientV2, order: messages.OrderResource, responder: Responder) -> None:
    key = acme.net.key
    for authz in order.authorizations:
        if authz.body.status == messages.STATUS_VALID:
            continue  # a recent valid authorisation the CA reuses
        domain = authz.body.identifier.value
        http01 = [c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)]
        if not http01:
            raise AcmeError(f"the ACME server offers no http-01 challenge for {domain}")
        response, validation = http01[0].response_and_validation(key)
        responder.publish(http01[0].chall.encode("token"), validation)
        acme.answer_challenge(http01[0], response)


def _describe(exc: Exception) -> str:
    if isinstance(exc, errors.ValidationError):
        failures = [
            f"{authz.body.identifier.value}: {challenge.error}"
            for authz in exc.failed_authzrs
            for challenge in authz.body.challenges
            if challenge.error is not None
        ]
        return "challenge failed: " + "; ".join(failures)
    if isinstance(exc, errors.TimeoutError):
        return "the ACME server did not validate the order in time"
    return str(exc) or type(exc).__name__


def obtain(
    directory_url: str,
    domains: list[str],
    responder: Responder,
    *,
    email: str | None = None,
    account_key_pem: bytes | None = None,
    ca_bundle: Path | None = None,
) -> Obtained:
    """A certificate for ``domains`` (the first is the subject), answered through ``responder``.

    Reuses the account of ``account_key_pem`` when given (ACME CAs limit new accounts).
    """
    account_key = account_key_pem or new_private_key_pem()
    key_pem = new_private_key_pem()
    try:
        acme = _connect(directory_url, _jwk(account_key), ca_bundle)
        account_url = _register(acme, email)
        order = acme.new_order(acme_crypto.make_csr(key_pem, domains))
        deadline = dt.datetime.now() + dt.timedelta(seconds=ORDER_TIMEOUT_SECONDS)
        with responder:
            _answer(acme, order, responder)
            done = acme.poll_and_finalize(order, deadline)
    except AcmeError:
        raise
    except (errors.Error, messages.Error, OSError, ValueError) as exc:
        raise AcmeError(f"ACME at {directory_url}: {_describe(exc)}") from exc
    if not done.fullchain_pem:
        raise AcmeError(f"ACME at {directory_url}: the order finished without a certificate")
    return Obtained(done.fullchain_pem, key_pem, AcmeAccount(account_key, account_url))
