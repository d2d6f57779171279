"""Which TLS context provider HTTP uses: aiohttp's own verifying one unless a CA bundle
variable names extra certificates, which are then loaded into a context of our own."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from contextree.errors import ProviderConfigError
from contextree.providers.http import ssl_context


def test_without_ca_variables_aiohttps_verifying_context_is_used() -> None:
    assert ssl_context({}) is True
    assert ssl_context({"SSL_CERT_FILE": ""}) is True


def test_a_ca_bundle_variable_gets_a_verifying_context_with_that_bundle(tmp_path: Path) -> None:
    system = ssl.get_default_verify_paths()
    found = next(
        (Path(p) for p in (system.cafile, system.openssl_cafile) if p and Path(p).is_file()),
        None,
    )
    if found is None:
        pytest.skip("no system CA bundle file on this machine to copy")
    bundle = tmp_path / "corporate.pem"  # another file than the system store's own
    bundle.write_bytes(found.read_bytes())
    context = ssl_context({"REQUESTS_CA_BUNDLE": str(bundle)})
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_an_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="SSL_CERT_FILE"):
        ssl_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})


def test_variables_naming_the_system_store_itself_add_nothing() -> None:
    system = ssl.get_default_verify_paths()
    named = {
        var: path
        for var, path in (
            ("SSL_CERT_FILE", system.openssl_cafile),
            ("SSL_CERT_DIR", system.openssl_capath),
        )
        if path
    }
    assert ssl_context(named) is True
