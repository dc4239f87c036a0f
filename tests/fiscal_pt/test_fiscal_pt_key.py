"""The software's key from the settings: the PEM, a file, or the local default's demo key
(generated once, kept, and never called certified)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError

from domain.errors import Conflict, InvalidRequest
from domain.fiscal_pt import generate_private_key_pem
from integrations.fiscal_pt import DEMO_KEY_FILE, PtSoftware
from tillflow.settings import Settings


def test_the_demo_key_is_made_once_and_not_certified(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    first = PtSoftware.from_settings(settings)
    again = PtSoftware.from_settings(settings)
    assert first.demo_key and not first.certified and first.certificate == "0"
    assert first.public_pem == again.public_pem  # the same key: the chain goes on
    assert (tmp_path / DEMO_KEY_FILE).stat().st_mode & 0o077 == 0  # owner only
    assert first.product_id == "tillflow/tillflow"


def test_production_never_signs_with_a_generated_key(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path).model_copy(update={"env": "production"})
    with pytest.raises(Conflict) as err:
        PtSoftware.from_settings(settings)
    assert err.value.code == "pt_key_missing" and "TILLFLOW_PT_SIGNING_KEY" in err.value.message
    assert not (tmp_path / DEMO_KEY_FILE).exists()


def test_a_configured_key_pem_or_file(tmp_path: Path) -> None:
    pem = generate_private_key_pem()
    key_file = tmp_path / "pt.pem"
    key_file.write_bytes(pem)
    by_value = PtSoftware.from_settings(
        Settings(
            var_dir=tmp_path, pt_signing_key=SecretStr(pem.decode()), pt_certificate_number="1234"
        )
    )
    by_file = PtSoftware.from_settings(Settings(var_dir=tmp_path, pt_signing_key_file=key_file))
    assert by_value.certified and by_value.public_pem == by_file.public_pem
    assert not (tmp_path / DEMO_KEY_FILE).exists()


def test_a_key_of_the_wrong_size_or_a_bad_certificate_is_refused(tmp_path: Path) -> None:
    big = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidRequest) as err:
        PtSoftware.from_settings(Settings(var_dir=tmp_path, pt_signing_key=SecretStr(big.decode())))
    assert err.value.code == "pt_key_invalid"
    with pytest.raises(ValidationError):
        Settings(var_dir=tmp_path, pt_certificate_number="AT-12")
