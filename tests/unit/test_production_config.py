"""COMPLAINTS_ENV=production refuses default secrets, short secrets and misspelt settings, each by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from services.escalation.config import EscalationSettings
from services.evidence.config import LOCAL_FERNET_KEY, EvidenceSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.runtime.startup import load_settings, production_problems, unknown_variables

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "a-production-secret-of-forty-bytes-0123456"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith(("COMPLAINTS_", "INTAKE_", "EVIDENCE_", "ESCALATION_", "NOTIFY_", "KAFKA_")):
            monkeypatch.delenv(name)
    return monkeypatch


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("COMPLAINTS_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_the_committed_auth_secret_by_name(clean_env: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _production(clean_env)
    with pytest.raises(SystemExit) as stopped:
        load_settings(IntakeSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "intake cannot start (COMPLAINTS_ENV=production)" in err
    assert "COMPLAINTS_AUTH_SECRET is the committed default" in err


def test_production_refuses_the_kubernetes_placeholder_secret(clean_env: pytest.MonkeyPatch) -> None:
    _production(clean_env, COMPLAINTS_AUTH_SECRET="replace-with-a-random-secret-of-at-least-32-bytes")
    problems = production_problems(NotifySettings(), {})
    assert problems == ["COMPLAINTS_AUTH_SECRET is the committed default: set a random secret of at least 32 bytes"]


def test_production_refuses_the_committed_fernet_key_and_an_unset_one(clean_env: pytest.MonkeyPatch) -> None:
    _production(clean_env, COMPLAINTS_AUTH_SECRET=GOOD_SECRET)
    unset = production_problems(EvidenceSettings(), {})
    assert len(unset) == 1 and unset[0].startswith("EVIDENCE_CARD_KEY_FERNET_KEYS holds the Fernet key committed")
    own = Fernet.generate_key().decode()
    clean_env.setenv("EVIDENCE_CARD_KEY_FERNET_KEYS", f'["{own}", "{LOCAL_FERNET_KEY}"]')
    assert production_problems(EvidenceSettings(), {})[0].startswith("EVIDENCE_CARD_KEY_FERNET_KEYS")
    clean_env.setenv("EVIDENCE_CARD_KEY_FERNET_KEYS", f'["{own}"]')
    assert production_problems(EvidenceSettings(), {}) == []


def test_a_short_auth_secret_is_refused_naming_the_variable_not_its_value(
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _production(clean_env, COMPLAINTS_AUTH_SECRET="short-secret-31-bytes-long-xxxx")
    with pytest.raises(SystemExit) as stopped:
        load_settings(EscalationSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "COMPLAINTS_AUTH_SECRET: String should have at least 32 characters" in err
    assert "short-secret" not in err


def test_unknown_prefixed_variables_are_named_with_the_nearest_known_name() -> None:
    environ = {"COMPLAINTS_AUTH_SECRT": "x", "EVIDENCE_MAX_FILE_BYTE": "1", "EVIDENCE_HTTP_PORT": "1",
               "COMPLAINTS_LOG_LEVEL": "INFO", "COMPLAINTS_TOPIC_PARTITIONS": "4", "INTAKE_ANYTHING": "x",
               "PATH": "/bin", "COMPLAINTS_ZZZZ": "x"}
    assert unknown_variables(EvidenceSettings, environ) == [
        "COMPLAINTS_AUTH_SECRT is not a known setting (did you mean COMPLAINTS_AUTH_SECRET?)",
        "COMPLAINTS_ZZZZ is not a known setting",
        "EVIDENCE_MAX_FILE_BYTE is not a known setting (did you mean EVIDENCE_MAX_FILE_BYTES?)",
    ]


def test_local_mode_keeps_the_defaults_working(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COMPLAINTS_AUTH_SECRT", "typo ignored locally")
    settings = load_settings(EvidenceSettings)
    assert settings.env == "local"
    assert settings.card_key_fernet_keys == [LOCAL_FERNET_KEY]


def test_production_with_own_secrets_starts(clean_env: pytest.MonkeyPatch) -> None:
    _production(clean_env, COMPLAINTS_AUTH_SECRET=GOOD_SECRET,
                EVIDENCE_CARD_KEY_FERNET_KEYS=f'["{Fernet.generate_key().decode()}"]')
    assert load_settings(EvidenceSettings).env == "production"


def test_the_service_process_exits_2_listing_every_problem(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "COMPLAINTS_ENV": "production", "EVIDENCE_HTTP_PROT": "8002",
           "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "services.evidence.main"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "evidence cannot start (COMPLAINTS_ENV=production):" in done.stderr
    for expected in ("COMPLAINTS_AUTH_SECRET is the committed default",
                     "EVIDENCE_CARD_KEY_FERNET_KEYS holds the Fernet key committed",
                     "EVIDENCE_HTTP_PROT is not a known setting (did you mean EVIDENCE_HTTP_PORT?)"):
        assert expected in done.stderr
