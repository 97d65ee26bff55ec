"""Signed artifacts: `finlite sign`, --verify-key / FINLITE_VERIFY_KEY, re-signing on export,
and pinning the manifest digest (issue 9, item 2). Keys are made by the openssl command line
when it is installed (the PEM files users will have), else by the cryptography library."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ArtifactError, ConfigError
from finlite.runtime import Predictor
from finlite.signing import fingerprint, load_public_key, sign_artifact
from tests.test_artifact_trust import forge_onnx

runner = CliRunner()
OPENSSL = shutil.which("openssl")


def _openssl(*args: str) -> None:
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)  # type: ignore[list-item]


def make_key(folder: Path, kind: str) -> tuple[Path, Path]:
    """(private.pem, public.pem) of an Ed25519 or ECDSA P-256 key."""
    private, public = folder / f"{kind}.pem", folder / f"{kind}.pub.pem"
    if OPENSSL:
        if kind == "ed25519":
            _openssl("genpkey", "-algorithm", "ed25519", "-out", str(private))
        else:  # without -noout: openssl writes an EC PARAMETERS block before the key, which must load too
            _openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", str(private))
        _openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519

        key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
        private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("keys")
    return {kind: make_key(folder, kind) for kind in ("ed25519", "p256", "other")}


@pytest.fixture()
def art(exported_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "student"
    shutil.copytree(exported_dir, copy)
    return copy


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", ["ed25519", "p256"])
def test_sign_then_verify_everywhere(art: Path, keys: dict, kind: str, german_csv: Path) -> None:
    private, public = keys[kind]
    result = runner.invoke(app, ["sign", str(art), "--key", str(private)])
    assert result.exit_code == 0, result.output
    record = json.loads((art / "signature.json").read_text())
    assert record["algorithm"] == ("ed25519" if kind == "ed25519" else "ecdsa-p256-sha256")
    assert record["public_key_sha256"] == fingerprint(load_public_key(public))
    assert record["manifest_file_sha256"] == hashlib.sha256((art / "manifest.json").read_bytes()).hexdigest()
    assert f"key sha256 {record['public_key_sha256']}" in result.output
    assert finlite.load(art, verify_key=public).path == art
    assert Predictor(art, verify_key=str(public)).cutoff > 0
    # Who signed, and whether a trusted key checked it: in the Predictor, so in serve's start line
    # and a scoring run's provenance (the Parquet output's finlite.provenance).
    key = record["public_key_sha256"]
    assert Predictor(art, verify_key=str(public)).signature == {"signed": True, "algorithm": record["algorithm"],
                                                                "fingerprint": key, "verified": True}
    assert Predictor(art).signature["verified"] is None and Predictor(art).signature["fingerprint"] == key
    out = art.parent / f"scores-{kind}.parquet"
    scored = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(out), "--verify-key",
                                 str(public)])
    assert scored.exit_code == 0, scored.output
    import pyarrow.parquet as pq

    origin = json.loads(pq.ParquetFile(out).metadata.metadata[b"finlite.provenance"])
    assert origin["signature"] == {"signed": True, "algorithm": record["algorithm"], "fingerprint": key,
                                   "verified": True}
    shown = runner.invoke(app, ["inspect", str(art), "--verify-key", str(public)])
    assert shown.exit_code == 0, shown.output
    assert f"signature: {record['algorithm']}, key sha256 {record['public_key_sha256']}, verified with" in shown.output
    unverified = runner.invoke(app, ["inspect", str(art)])
    assert "matches the manifest, but the key is not trusted until you pass --verify-key" in unverified.output


def test_wrong_key_and_unsigned_are_refused(art: Path, keys: dict, tmp_path: Path) -> None:
    other = keys["other"][1]
    with pytest.raises(ArtifactError, match=r"is not signed \(it has no signature\.json\), and a trusted key"):
        finlite.load(art, verify_key=other)
    sign_artifact(art, keys["ed25519"][0])
    with pytest.raises(ArtifactError, match=r"is signed by key sha256 [0-9a-f]{16}…, not by the trusted key"):
        finlite.load(art, verify_key=other)
    with pytest.raises(ArtifactError, match="not by the trusted key"):
        Predictor(art, verify_key=other)
    result = runner.invoke(app, ["score", str(art), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"),
                                 "--verify-key", str(other)])
    assert result.exit_code == 2 and "not by the trusted key" in result.output


def test_forged_model_after_signing_is_refused(art: Path, keys: dict, german_csv: Path, tmp_path: Path) -> None:
    private, public = keys["p256"]
    sign_artifact(art, private)
    forge_onnx(art)  # swap model.onnx for one that approves everyone, re-hash the manifest
    with pytest.raises(ArtifactError, match=r"does not verify with the trusted key .*manifest\.json was changed after"):
        Predictor(art, verify_key=public)
    for command in (["score", str(art), str(german_csv), "-o", str(tmp_path / "s.csv")],
                    ["evaluate", str(art), str(german_csv), "--no-timing"], ["inspect", str(art)]):
        result = runner.invoke(app, [*command, "--verify-key", str(public)])
        assert result.exit_code == 2, (command, result.output)
        assert "does not verify with the trusted key" in result.output
    assert not (tmp_path / "s.csv").exists()
    # Without a key the hashes pass, but a signature that no longer matches its manifest proves the
    # change: refused on every path (inspect showed it and exited 0; score used the forgery).
    shown = runner.invoke(app, ["inspect", str(art)])
    assert shown.exit_code == 2 and "its signature does not match manifest.json" in shown.output
    with pytest.raises(ArtifactError, match=r"carries signature\.json, but its signature does not match.*sign it "
                                            r"again \('finlite sign"):
        Predictor(art)
    with pytest.raises(ArtifactError, match=r"does not match manifest\.json"):
        finlite.load(art)
    signed = runner.invoke(app, ["sign", str(art), "--key", str(private)])  # the way out: vouch anew, said aloud
    assert signed.exit_code == 0 and "warning:" in signed.output and "did not match its manifest" in signed.output
    assert Predictor(art, verify_key=public) is not None


def test_forged_signature_file_is_refused(art: Path, keys: dict) -> None:
    private, public = keys["ed25519"]
    sign_artifact(art, private)
    record = json.loads((art / "signature.json").read_text())
    record["signature"] = base64.b64encode(bytes(64)).decode()  # valid base64, another signature
    (art / "signature.json").write_text(json.dumps(record))
    with pytest.raises(ArtifactError, match="does not verify"):
        finlite.load(art, verify_key=public)
    (art / "signature.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ArtifactError, match=r"signature\.json' is not UTF-8 text"):
        finlite.load(art, verify_key=public)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("public_key_pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
     r"its public_key_pem is not a PEM public key \(signature\.json is damaged or was forged\)\. Refusing"),
    ("signature", "not base64!", r"its signature is not base64 text"),
    ("manifest_sha256", "0" * 64, r"it names manifest sha256 0000000000000000…, not the signed manifest's \(its "
                                  r"manifest_sha256 field was altered after signing\)"),
])
def test_a_damaged_signature_file_is_told_for_what_it_is(art: Path, keys: dict, field: str, value: str,
                                                         said: str) -> None:
    """Each of these read "manifest.json was changed after signing", which it was not, and a
    manifest_sha256 of another manifest passed even the trusted key (a review, 2026-12-04 evening)."""
    private, public = keys["ed25519"]
    sign_artifact(art, private)
    record = json.loads((art / "signature.json").read_text())
    record[field] = value
    (art / "signature.json").write_text(json.dumps(record))
    for load in (finlite.load, Predictor):
        with pytest.raises(ArtifactError, match=said) as info:
            load(art)
        assert "changed after signing" not in str(info.value) and ".. " not in str(info.value)
    if field == "manifest_sha256":
        with pytest.raises(ArtifactError, match=r"names manifest sha256 0000000000000000…, not the signed manifest's"):
            finlite.load(art, verify_key=public)
    if field == "signature":  # with the trusted key too
        with pytest.raises(ArtifactError, match=r"holds a signature that is not base64 text"):
            finlite.load(art, verify_key=public)
    if field == "public_key_pem":  # with the trusted key too: what a reader shows as the signer
        with pytest.raises(ArtifactError, match=r"holds a public_key_pem that is not a PEM public key, not the "
                                                r"trusted key .* that verified the signature"):
            finlite.load(art, verify_key=public)
        record[field] = keys["other"][1].read_text()  # a real key, not the one that signed
        (art / "signature.json").write_text(json.dumps(record))
        with pytest.raises(ArtifactError, match=r"holds a public_key_pem that is another key"):
            finlite.load(art, verify_key=public)
        del record[field]  # removed: refused with the key as without it
        (art / "signature.json").write_text(json.dumps(record))
        with pytest.raises(ArtifactError, match=r"holds a public_key_pem that is not a PEM public key"):
            finlite.load(art, verify_key=public)


def test_env_trusted_key_is_honoured(art: Path, keys: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = keys["ed25519"]
    monkeypatch.setenv("FINLITE_VERIFY_KEY", str(public))
    with pytest.raises(ArtifactError, match=r"is not signed .*\(from FINLITE_VERIFY_KEY\)"):
        finlite.load(art)
    with pytest.raises(ArtifactError, match="is not signed"):
        Predictor(art)
    sign_artifact(art, private)  # signing ignores the trusted key: it is how artifacts become signed
    assert finlite.load(art).path == art
    assert Predictor(art).cutoff > 0
    monkeypatch.setenv("FINLITE_VERIFY_KEY", str(keys["other"][1]))
    result = runner.invoke(app, ["inspect", str(art)])
    assert result.exit_code == 2 and "not by the trusted key" in result.output and "FINLITE_VERIFY_KEY" in result.output


@pytest.mark.parametrize("value", ["", "  "])
def test_a_blank_env_trusted_key_is_refused_not_ignored(art: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """FINLITE_VERIFY_KEY="$KEY" with KEY unset read every artifact unchecked (a review, 2026-12-04
    evening): a check asked for with no key fails closed."""
    monkeypatch.setenv("FINLITE_VERIFY_KEY", value)
    with pytest.raises(ConfigError, match="FINLITE_VERIFY_KEY is set but empty"):
        finlite.load(art)
    result = runner.invoke(app, ["inspect", str(art)])
    assert result.exit_code == 2 and "FINLITE_VERIFY_KEY is set but empty" in result.output
    monkeypatch.delenv("FINLITE_VERIFY_KEY")
    assert finlite.load(art).path == art


def test_export_after_signing_needs_the_key(art: Path, keys: dict, german_csv: Path) -> None:
    private, public = keys["ed25519"]
    sign_artifact(art, private)
    before = snapshot(art)
    result = runner.invoke(app, ["export", str(art), "--data", str(german_csv)])
    assert result.exit_code == 2, result.output
    assert "is signed (signature.json)" in result.output and "--key PRIVATE.pem" in result.output
    assert "nothing was written" in result.output
    assert snapshot(art) == before
    assert [p.name for p in art.parent.iterdir()] == ["student"]  # no temporary folder left
    result = runner.invoke(app, ["export", str(art), "--data", str(german_csv), "--int8", "--key", str(private)])
    assert result.exit_code == 0, result.output
    assert "(re-signed)" in result.output
    # The signature covers the manifest as it is now (a re-export in the same second writes the same
    # bytes, hence the same signature, so comparing with the old signature would be flaky).
    signed = json.loads((art / "signature.json").read_text())["manifest_file_sha256"]
    assert signed == hashlib.sha256((art / "manifest.json").read_bytes()).hexdigest()
    art_loaded = finlite.load(art, verify_key=public)
    assert "onnx_int8" in art_loaded.manifest["export"]
    assert Predictor(art, variant="int8", verify_key=public).cutoff > 0


def test_manifest_pin_on_score(art: Path, german_csv: Path, tmp_path: Path) -> None:
    digest = json.loads((art / "manifest.json").read_text())["manifest_sha256"]
    shown = runner.invoke(app, ["inspect", str(art)])
    assert f"manifest sha256 {digest}" in shown.output
    ok = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "ok.csv"),
                             "--manifest-sha256", digest.upper()])
    assert ok.exit_code == 0, ok.output
    wrong = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "no.csv"),
                                "--manifest-sha256", "ab" * 32])
    assert wrong.exit_code == 2, wrong.output
    assert f"has manifest sha256 {digest}, not the pinned {'ab' * 32}" in wrong.output
    assert not (tmp_path / "no.csv").exists()
    bad = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "no.csv"),
                              "--manifest-sha256", "xyz"])
    assert bad.exit_code == 2 and "is not 64 hexadecimal digits" in bad.output
    assert Predictor(art, manifest_sha256=digest).manifest["manifest_sha256"] == digest


def test_key_mistakes_are_config_errors(art: Path, keys: dict, tmp_path: Path) -> None:
    private, public = keys["ed25519"]
    with pytest.raises(ConfigError, match=r"is a private key\. Verify with the public key only"):
        finlite.load(art, verify_key=private)
    with pytest.raises(ConfigError, match="is a public key; signing needs the private key"):
        sign_artifact(art, public)
    with pytest.raises(ConfigError, match="does not exist"):
        finlite.load(art, verify_key=tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x00" * 100)
    result = runner.invoke(app, ["sign", str(art), "--key", str(junk)])
    assert result.exit_code == 2 and "is not a PEM private key" in result.output
    assert not (art / "signature.json").exists()
    # Two private keys in one file: the first signed without a word (a review, 2026-12-04 evening).
    both = tmp_path / "both.pem"
    both.write_bytes(private.read_bytes() + keys["other"][0].read_bytes())
    result = runner.invoke(app, ["sign", str(art), "--key", str(both)])
    assert result.exit_code == 2 and "holds 2 private keys; give a file with exactly one" in result.output
    assert not (art / "signature.json").exists()
    assert runner.invoke(app, ["sign", "--help"]).exit_code == 0


def test_compress_verifies_the_teacher(teacher_dir: Path, german_csv: Path, keys: dict, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--out", str(tmp_path / "s"),
                                 "--verify-key", str(keys["ed25519"][1])])
    assert result.exit_code == 2, result.output
    assert "is not signed (it has no signature.json)" in result.output
    assert not (tmp_path / "s").exists()


def _raise_cutoff(manifest: dict) -> None:  # type: ignore[type-arg]
    """The forger's edit: a cut-off that approves nearly everyone, written in both places it is
    recorded (a manifest whose two differ is refused on its own)."""
    manifest["cutoff"] = 0.99
    manifest["operating_point"]["cutoff"] = 0.99


@pytest.mark.parametrize("with_verify_key", [False, True])
def test_export_never_re_signs_files_swapped_in_during_the_export(art: Path, keys: dict, german_csv: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   with_verify_key: bool) -> None:
    """A writer racing 'export --key' must not get its edits signed: the export re-signs only the
    artifact it verified and loaded, or refuses."""
    import finlite.jobs.export
    from finlite.jobs.export import export_artifact
    from tests.test_artifact_trust import rehash

    private, public = keys["ed25519"]
    sign_artifact(art, private)
    real = finlite.jobs.export.prepare_like

    def racing(*args, **kwargs):  # type: ignore[no-untyped-def]
        # While the parity check runs, the attacker raises the cut-off (approving nearly everyone),
        # re-hashes the manifest and drops the signature it just voided.
        (art / "signature.json").unlink()
        rehash(art, _raise_cutoff)
        return real(*args, **kwargs)

    monkeypatch.setattr(finlite.jobs.export, "prepare_like", racing)
    with pytest.raises(ArtifactError, match="is not signed" if with_verify_key else "changed while this command ran"):
        export_artifact(art, german_csv, key=private, verify_key=public if with_verify_key else None)
    with pytest.raises(ArtifactError, match="not signed"):  # the forgery was not signed with the key
        finlite.load(art, verify_key=public)


def test_sign_signs_only_the_manifest_it_verified(art: Path, keys: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest swapped in between the check and the signing is never signed: what is signed
    (and put in place) is the manifest that was verified."""
    from finlite import _manifest
    from tests.test_artifact_trust import rehash

    private, public = keys["ed25519"]
    cutoff = json.loads((art / "manifest.json").read_text())["cutoff"]
    real = _manifest._verify_open  # every verification ends here

    def racing(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        rehash(art, _raise_cutoff)  # the attacker's manifest, self-consistent
        return result

    monkeypatch.setattr(_manifest, "_verify_open", racing)
    # The manifest whose gates were read is the one pinned for signing: swapped after that check,
    # the signing is refused, and the attacker's manifest is never signed.
    with pytest.raises(ArtifactError, match=r"changed while this command ran \(its manifest sha256 is now [0-9a-f]{64}, "
                                            r"not the [0-9a-f]{64} it read first\): another command"):
        sign_artifact(art, private)
    monkeypatch.undo()
    assert not (art / "signature.json").exists()
    assert json.loads((art / "manifest.json").read_text())["cutoff"] == 0.99 != cutoff  # the swap, left unsigned
    # With no swap between the check and the signing, the signed manifest is the one checked.
    def restore(manifest: dict) -> None:  # type: ignore[type-arg]
        manifest["cutoff"] = manifest["operating_point"]["cutoff"] = cutoff

    rehash(art, restore)
    sign_artifact(art, private)
    assert finlite.load(art, verify_key=public).cutoff == cutoff


def test_sign_through_a_link_to_the_artifact(art: Path, keys: dict) -> None:
    """Readers accept a link to the artifact folder; signing through it signs the folder, and keeps the link."""
    private, public = keys["ed25519"]
    link = art.parent / "current"
    link.symlink_to(art.name)
    result = runner.invoke(app, ["sign", str(link), "--key", str(private)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (art / "signature.json").is_file()
    assert finlite.load(link, verify_key=public).manifest["files"]
    assert sorted(p.name for p in art.parent.iterdir()) == ["current", "student"]


def test_signing_keeps_the_folder_s_mode(art: Path, keys: dict) -> None:
    """Signing swaps in a new folder; it came back 0700, taking the artifact from the serving
    account its operator had opened it to (a review, 2026-12-04 evening)."""
    private, public = keys["ed25519"]
    os.chmod(art, 0o755)
    result = runner.invoke(app, ["sign", str(art), "--key", str(private)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(art.stat().st_mode) == 0o755 and finlite.load(art, verify_key=public)
    # The signature, written through a private temporary file, takes the mode of the files beside it.
    mask = os.umask(0)
    os.umask(mask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in art.iterdir()} == {0o666 & ~mask}
    if os.geteuid() == 0:  # the usual way to open it to a serving account: its group, setgid
        os.chown(art, -1, 65534)
        os.chmod(art, 0o2750)
        result = runner.invoke(app, ["sign", str(art), "--key", str(private)])
        assert result.exit_code == 0, result.output
        assert art.stat().st_gid == 65534 and stat.S_IMODE(art.stat().st_mode) == 0o2750


def test_evaluate_holds_the_baseline_to_the_same_key(art: Path, keys: dict, teacher_dir: Path,
                                                    german_csv: Path) -> None:
    private, public = keys["ed25519"]
    sign_artifact(art, private)
    result = runner.invoke(app, ["evaluate", str(art), str(german_csv), "--baseline", str(teacher_dir),
                                 "--no-timing", "--verify-key", str(public)])
    assert result.exit_code == 2, result.output
    assert str(teacher_dir) in result.output and "not signed" in result.output
    signed_teacher = art.parent / "teacher"
    shutil.copytree(teacher_dir, signed_teacher)
    sign_artifact(signed_teacher, private)
    result = runner.invoke(app, ["evaluate", str(art), str(german_csv), "--baseline", str(signed_teacher),
                                 "--no-timing", "--verify-key", str(public)])
    assert result.exit_code == 0, result.output


# -- found by a review of signing: re-signing, pinned workers, what inspect prints, key files ------
def test_export_never_re_signs_an_artifact_changed_after_signing(art: Path, keys: dict, german_csv: Path) -> None:
    # Before: an attacker re-hashed the artifact after it was signed; 'export --key' re-signed it
    # with the real key (exit 0), and it then verified cleanly.
    from tests.test_artifact_trust import rehash

    private, public = keys["ed25519"]
    sign_artifact(art, private)
    rehash(art, _raise_cutoff)
    before = snapshot(art)
    result = runner.invoke(app, ["export", str(art), "--data", str(german_csv), "--key", str(private)])
    flat = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    # Refused on reading now (a signature that does not match its own manifest), before export's check.
    assert "carries signature.json, but its signature does not match manifest.json" in flat
    assert snapshot(art) == before
    with pytest.raises(ArtifactError, match="does not verify"):
        finlite.load(art, verify_key=public)
    other, _ = keys["other"]  # signed by someone else: not this key's to replace either
    sign_artifact(art, other)
    result = runner.invoke(app, ["export", str(art), "--data", str(german_csv), "--key", str(private)])
    assert result.exit_code == 2 and "not verifiably by the key given to re-sign it" in " ".join(result.output.split())


def test_serve_workers_load_only_the_artifact_the_parent_verified(art: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import socket

    import uvicorn

    from finlite.runtime import service

    seen: dict[str, str] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(settings=os.environ[service._ENV]))
    monkeypatch.setenv(service._ENV, "")  # serve sets it; monkeypatch removes it again afterwards
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service.serve(art, port=port, workers=2)
    digest = json.loads((art / "manifest.json").read_text())["manifest_sha256"]
    assert json.loads(seen["settings"])["manifest_sha256"] == digest  # None before: a worker loaded whatever was there


@pytest.mark.parametrize(("field", "value"), [
    ("algorithm", "ed25519, key sha256 5b7b, verified with the trusted key 'publisher.pub.pem'\x1b[8m"),
    ("public_key_sha256", "\x1b[8m" + "0" * 60),
    ("public_key_pem", 123),
])
def test_inspect_never_prints_a_forged_signature_field(art: Path, keys: dict, field: str, value: object) -> None:
    private, _ = keys["ed25519"]
    sign_artifact(art, private)
    record = json.loads((art / "signature.json").read_text())
    record[field] = value
    (art / "signature.json").write_text(json.dumps(record))
    result = runner.invoke(app, ["inspect", str(art)])
    # 123 was an AttributeError traceback; then "signature: unreadable" with exit 0. A signature
    # that cannot be checked against its manifest is refused now, its text escaped.
    assert result.exit_code == 2 and "carries signature.json, but" in result.output, result.output
    assert "\x1b" not in result.output and "verified with the trusted key" not in result.output


def test_a_key_file_is_refused_for_what_it_is(art: Path, keys: dict, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    weak = tmp_path / "rsa1024.pub.pem"
    weak.write_bytes(small.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(ConfigError, match="1024-bit RSA key"):  # was "is not a PEM public key"
        load_public_key(weak)
    both = tmp_path / "two.pub.pem"
    both.write_bytes(keys["ed25519"][1].read_bytes() + keys["other"][1].read_bytes())
    with pytest.raises(ConfigError, match="holds 2 PEM blocks; give a file with exactly one public key"):
        finlite.load(art, verify_key=both)


def test_sign_cleans_a_killed_signings_leftover_before_checking(art: Path, keys: dict) -> None:
    """The gates' check (which verifies the folder) ran before the clean-up, so a killed earlier
    'finlite sign' left a file the check refused for good (the diff's review, 2026-12-05)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    leftover = art / f".signature.json.{int(dead.stdout)}-0123abcd.tmp"
    leftover.write_text("half a signature")
    private, public = keys["ed25519"]
    sign_artifact(art, private)
    assert not leftover.exists() and finlite.load(art, verify_key=public).path == art


def test_an_unsupported_key_is_named_in_words_without_a_library_warning(art: Path, tmp_path: Path) -> None:
    """A DSA key printed cryptography's deprecation warning and its source line before the error,
    which named the key "a DSAPrivateKey key" (a security review, 2026-12-06)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ed448

    for key, words in ((dsa.generate_private_key(1024), "is a DSA private key"),
                       (ed448.Ed448PrivateKey.generate(), "is an Ed448 private key")):
        path = tmp_path / "key.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        done = subprocess.run([sys.executable, "-m", "finlite", "sign", str(art), "--key", str(path)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Warning" not in done.stderr, done.stderr


def test_an_encrypted_key_signs_with_its_passphrase_from_a_file(art: Path, tmp_path: Path) -> None:
    """A key kept encrypted at rest was refused: finlite read unencrypted PEM keys only (note 69's
    leftover). --passphrase-file decrypts it; a wrong, missing or needless passphrase is named."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    locked = tmp_path / "locked.pem"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"s3cret")))
    secret = tmp_path / "pass.txt"
    secret.write_text("s3cret\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["sign", str(art), "--key", str(locked)])
    assert refused.exit_code == 2 and "is encrypted with a passphrase" in refused.output
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope\n")
    bad = runner.invoke(app, ["sign", str(art), "--key", str(locked), "--passphrase-file", str(wrong)])
    assert bad.exit_code == 2 and "could not be decrypted with the passphrase given" in bad.output
    done = runner.invoke(app, ["sign", str(art), "--key", str(locked), "--passphrase-file", str(secret)])
    assert done.exit_code == 0, done.output
    public = tmp_path / "locked.pub.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    Predictor(art, verify_key=public)  # signed by that key: accepted
    plain = tmp_path / "plain.pem"
    plain.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    needless = runner.invoke(app, ["sign", str(art), "--key", str(plain), "--passphrase-file", str(secret)])
    assert needless.exit_code == 2 and "is not encrypted, and a passphrase was given" in needless.output
