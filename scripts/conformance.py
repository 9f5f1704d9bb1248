#!/usr/bin/env python3
"""Conformance of `taxii-relay validate` with the OASIS reference validator (`stix2-validator`).

How to rerun: build the binary (`cargo build --release`), have `pip install stix2-validator` (3.3.1 is
the reference), then from the repository root:

    python3 scripts/conformance.py target/release/taxii-relay
    python3 scripts/conformance.py target/release/taxii-relay --corpus ../shared/corpus/attack-ics

The first form validates every case under `tests/conformance/<type>/*.json` (one STIX 2.1 object per
file) with stix2-validator at its default level (MUSTs are errors, SHOULDs only warnings) and with the
binary (`validate --format jsonl`), rewrites `tests/conformance/expected.json` as
`{case: {"stix2_validator": valid, "relay": valid, "agree": bool, "note": "..."}}`, and prints the
agreement figure and every disagreement. `--corpus` compares the two per object over real bundles
instead and writes nothing. The Rust test `tests/it/conformance.rs` replays the recorded `relay` verdicts
without Python, so a change of verdict fails CI until this script is rerun and the change reviewed.

A disagreement must be explained: the notes live in NOTES below, each saying which validator is wrong
and naming the STIX 2.1 section that decides it (numbers as in STIX 2.1 Errata 01, whose section titles
are those of the 2021 standard). The script exits 1 when a disagreement has no note, or when a case
whose note explains a disagreement now agrees (a fix landed: update the note), so nothing is recorded
unexplained.

stix2-validator 3.3.1's wheel ships without its JSON schemas (cti-stix-validator issue #248: every
object fails with "Cannot locate a schema ... (core.json)"). When they are missing, this script takes
the `schemas-2.1` tree from the 3.2.0 wheel (`pip download --no-deps stix2-validator==3.2.0`, cached
under `target/conformance/`) and points 3.3.1's code at it; `--schemas DIR` names a tree by hand.
"""

import argparse
import atexit
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "conformance")
EXPECTED = os.path.join(CASES, "expected.json")
SCHEMA_CACHE = os.path.join(ROOT, "target", "conformance", "stix2-validator-3.2.0")

# How a note starts says what it explains: a disagreement (the reference is wrong, or we are, or we are
# lenient on purpose) or an agreement worth a word (both accept what the specification refuses).
DISAGREEING_NOTES = ("stix2-validator", "BUG OF OURS", "GAP OF OURS", "DELIBERATE", "SPEC AMBIGUOUS")
AGREEING_NOTE = "BOTH ACCEPT"

# Why the two validators disagree on a case, each with the STIX 2.1 section that decides it: the
# reference's bug or limitation, a bug or gap of ours (reported, to be fixed in src/), a leniency of ours
# chosen on purpose; and, for a few agreeing cases, a MUST that both validators miss.
NOTES = {
    "attack-pattern/defanged-on-sdo.json": (
        "stix2-validator limitation: it accepts defanged on an SDO. STIX 2.1 3.2 defanged: \"This property MUST NOT be used on any STIX Objects other than SCOs.\" (taxii-relay refuses it since the conformance run found the gap in both.)"
    ),
    "attack-pattern/granular-marking-lang-only.json": (
        "stix2-validator limitation: its granular-marking schema requires marking_ref, so a language marking is refused. STIX 2.1 7.2.3 Granular Marking Type: exactly one of lang and marking_ref MUST be present (\"If the marking_ref property is not present, this property [lang] MUST be present\"); lang alone is valid."
    ),
    "attack-pattern/granular-marking-ref-and-lang.json": (
        "stix2-validator limitation: nothing refuses both. STIX 2.1 7.2.3: \"one and only one of these properties MUST be present\"; marking_ref: \"If the lang property is present, this property MUST NOT be present.\""
    ),
    "attack-pattern/missing-type.json": (
        "taxii-relay's CLI answers not_stix (no type: not a STIX object at all); the library answers missing_property. Both invalid."
    ),
    "attack-pattern/object-marking-ref-not-a-marking.json": (
        "stix2-validator limitation: object_marking_refs is only checked as an identifier. STIX 2.1 3.2 (object_marking_refs: ids of marking-definition objects) and 3.3 (\"the only valid target of the relationship is one or more marking-definition objects\")."
    ),
    "campaign/created-by-ref-not-identity.json": (
        "stix2-validator limitation: created_by_ref is only checked as an identifier. STIX 2.1 3.2: created_by_ref is \"the id property of the identity object\"; 4.2.2 embedded relationships: identifier (of type identity)."
    ),
    "directory/contains-refs-to-url.json": (
        "stix2-validator limitation: SCO reference targets are not checked for top-level SCOs. STIX 2.1 6.3.1 contains_refs: the objects referenced MUST be of type file or directory."
    ),
    "domain-name/resolves-to-refs-to-url.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.4.1 resolves_to_refs: the objects referenced MUST be of type ipv4-addr, ipv6-addr or domain-name."
    ),
    "email-addr/belongs-to-ref-to-identity.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.5.1 belongs_to_ref: the object referenced MUST be of type user-account."
    ),
    "email-message/from-ref-to-url.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.6.1 from_ref: the object referenced MUST be of type email-addr."
    ),
    "email-message/header-fields-empty.json": (
        "An empty dictionary is invalid: STIX 2.1 2.3: \"Empty dictionaries are prohibited in STIX and MUST NOT be used as a substitute for omitting the property\" (both agree; taxii-relay accepted it until Rule::Dict refused {})."
    ),
    "extension-definition/missing-created-by-ref.json": (
        "stix2-validator limitation: its extension-definition schema does not require created_by_ref. STIX 2.1 7.3.1 lists created_by_ref among the Required Common Properties of an Extension Definition."
    ),
    "file/magic-number-uppercase-hex.json": (
        "stix2-validator limitation: it accepts upper-case hex. STIX 2.1 2.8 hex: \"digits '0' through '9' and the lower-case letters 'a' through 'f'\". (taxii-relay refuses it since the conformance run found the gap in both.)"
    ),
    "file/parent-directory-ref-to-file.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.7.1 parent_directory_ref: the object referenced MUST be of type directory."
    ),
    "incident/custom-property-251-characters.json": (
        "stix2-validator bug: its property-name regex `^([a-z][a-z0-9_]{2,249})|id$` anchors the end only on `id`, so longer names pass. STIX 2.1 3.1: \"All type names, property names, object names, and vocabulary terms MUST be between three and 250 characters long.\""
    ),
    "incident/extension-by-definition-without-extension-type.json": (
        "An extension under an extension-definition id needs extension_type: STIX 2.1 3.2 extensions: \"When this extension facility is used the extension_type property MUST be present\" (also 7.3); predefined *-ext extensions go without it (both agree; taxii-relay checked extension_type only when present until this was fixed)."
    ),
    "incident/reserved-property-severity.json": (
        "A reserved property name is invalid: STIX 2.1 3.8 Reserved Names: severity, username, phone_numbers and action MUST NOT be used (both agree; taxii-relay accepted it until this was fixed)."
    ),
    "indicator/pattern-and-across-object-types.json": (
        "stix2-validator limitation (stix2-patterns): it accepts AND between comparisons on different object types in one observation. STIX 2.1 9.5: comparison expressions on different object types \"MUST be joined by OR\". (taxii-relay refuses it since the conformance run found the gap in both.)"
    ),
    "indicator/pattern-double-equals.json": (
        "`==` is the grammar's alternative spelling of `=` (STIXPattern.g4 EQ); both accept."
    ),
    "indicator/pattern-repeats-zero-times.json": (
        "stix2-validator limitation (stix2-patterns grammar accepts any integer). STIX 2.1 9.5.1 REPEATS: \"x MUST be a positive integer\"."
    ),
    "indicator/pattern-start-stop-plain-strings.json": (
        "DELIBERATE LENIENCY OF OURS: STIX 2.1 9.5.1 START x STOP y: \"x and y MUST be of type timestamp\" (t'...'); taxii-relay also accepts the STIX 2.0 plain-string form for 2.0 producers (see pattern.rs)."
    ),
    "indicator/pattern-within-zero-seconds.json": (
        "stix2-validator limitation (stix2-patterns grammar accepts zero). STIX 2.1 9.5.1 WITHIN: \"x MUST be a positive floating-point or integer value\"."
    ),
    "indicator/valid-until-equals-valid-from.json": (
        "Equal timestamps are invalid here: STIX 2.1 4.7.1 valid_until \"MUST be greater than\" valid_from (both agree)."
    ),
    "ipv4-addr/belongs-to-refs-to-domain.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.8.1 belongs_to_refs: the objects referenced MUST be of type autonomous-system."
    ),
    "ipv4-addr/object-marking-ref-to-identity.json": (
        "stix2-validator limitation: object_marking_refs is only checked as an identifier. STIX 2.1 3.2 and 3.3: its targets are marking-definition objects only."
    ),
    "language-content/contents-language-empty.json": (
        "stix2-validator limitation: the per-language value of contents may be empty. STIX 2.1 7.1.1 contents: each value is a dictionary; 2.3: \"Empty dictionaries are prohibited in STIX and MUST NOT be used\"."
    ),
    "malware-analysis/analysis-sco-refs-to-sdo.json": (
        "SPEC AMBIGUOUS, reported: STIX 2.1 4.12.1 describes analysis_sco_refs as \"references to the STIX Cyber-observable Objects that were captured\", but 4.12.2 lists its target as (of type STIX Object) and no MUST restricts it; taxii-relay refuses a non-SCO, stix2-validator does not check."
    ),
    "malware/created-whole-seconds.json": (
        "DELIBERATE LENIENCY OF OURS: STIX 2.1 3.2 created/modified: \"The minimum precision MUST be milliseconds\"; taxii-relay only warns (timestamp_precision) because ATT&CK for ICS 10.0 ships whole seconds (see validate.rs)."
    ),
    "malware/modified-before-created-sub-microsecond.json": (
        "stix2-validator bug: with more than six fractional digits its timestamp comparison falls back to comparing strings ('53.100Z' sorts after '53.1000001Z'), so modified 100 ns before created passes. STIX 2.1 3.2 modified: \"MUST be later than or equal to the value of the created property\"; 2.16 allows any number of sub-second digits."
    ),
    "malware/modified-equals-created.json": (
        "Equal timestamps are valid: STIX 2.1 3.2 modified \"MUST be later than or equal to\" created (both agree)."
    ),
    "malware/sample-refs-to-ipv4.json": (
        "stix2-validator limitation: reference targets are not checked. STIX 2.1 4.11.1 sample_refs: \"identifiers of the SCO file or artifact objects\"; 4.11.2 embedded relationships: list of type identifier (of type file or artifact)."
    ),
    "marking-definition/tlp-nonstandard-id.json": (
        "DELIBERATE LENIENCY OF OURS: STIX 2.1 7.2.1.4: the four standard TLP marking definitions MUST be used; \"Other instances of tlp-marking MUST NOT be used or created\". Feeds define their own TLP marking definitions and the relay must resolve their levels (see tlp.rs), so taxii-relay accepts a TLP definition under another id (see validate.rs)."
    ),
    "network-traffic/http-request-header-value-string.json": (
        "A header value that is a string is invalid: STIX 2.1 6.12.2 request_header: \"The corresponding value for each dictionary key MUST always be a list of type string\" (both agree; taxii-relay checked only the keys until this was fixed)."
    ),
    "network-traffic/socket-ext-option-value-string.json": (
        "An option value that is a string is invalid: STIX 2.1 6.12.4 socket-ext options: \"Each dictionary value MUST be an integer.\" (both agree; taxii-relay checked only the keys until this was fixed)."
    ),
    "network-traffic/src-ref-to-url.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.12.1 src_ref: the object referenced MUST be of type ipv4-addr, ipv6-addr, mac-addr or domain-name."
    ),
    "observed-data/object-refs-only-sro.json": (
        "stix2-validator limitation: it does not check what object_refs references. STIX 2.1 4.14.1 object_refs: \"MUST contain at least one SCO reference if defined\". (taxii-relay refuses it since the conformance run found the gap in both.)"
    ),
    "observed-data/object-refs-to-sdo.json": (
        "stix2-validator limitation: reference targets are not checked. STIX 2.1 4.14.1 object_refs: \"A list of SCOs and SROs\"; 4.14.2 embedded relationships: (of type SCO or SRO)."
    ),
    "process/environment-variable-value-number.json": (
        "stix2-validator limitation: it does not check environment_variables values. STIX 2.1 6.13.1 environment_variables: each value \"MUST be the environment variable value as a string\". (taxii-relay refuses it since the conformance run found the gap in both.)"
    ),
    "process/image-ref-to-artifact.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.13.1 image_ref: \"The object referenced in this property MUST be of type file.\""
    ),
    "process/opened-connection-refs-to-ipv4.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.13.1 opened_connection_refs: \"The objects referenced in this list MUST be of type network-traffic.\""
    ),
    "process/uuid-v5.json": (
        "A process id with a UUIDv5 is invalid: a process has no ID Contributing Properties (STIX 2.1 6.13.1: \"please use a UUIDv4\"), and 2.9: \"If the contributing properties are all optional, and none are present on the SCO, then a UUIDv4 MUST be used.\" (both agree; taxii-relay only warned until this was fixed)."
    ),
    "relationship/stop-time-equals-start-time.json": (
        "Equal timestamps are invalid here: STIX 2.1 5.1.2 stop_time \"MUST be later than\" start_time (both agree)."
    ),
    "report/lang-numeric-region.json": (
        "stix2-validator limitation: lang is checked against a fixed list of codes, not RFC 5646 syntax. es-419 (Spanish, Latin America; UN M.49 region) is a valid RFC 5646 tag. STIX 2.1 3.2 lang: \"MUST be a language code conformant to [RFC5646]\"."
    ),
    "sighting/sighting-of-ref-to-sco.json": (
        "stix2-validator limitation: reference targets are not checked. STIX 2.1 5.2.1 sighting_of_ref: \"This property MUST reference only an SDO.\""
    ),
    "software/languages-rfc5646.json": (
        "stix2-validator bug: its software schema requires three-letter ISO 639-2 codes (the STIX 2.0 rule); its own software_language check accepts RFC 5646. STIX 2.1 6.14.1 languages: \"The value of each list member MUST be a language code conformant to [RFC5646]\"."
    ),
    "user-account/no-properties.json": (
        "A user-account without properties is invalid: STIX 2.1 6.16: \"at least one of the properties defined below MUST be included when using this object.\" (both agree; taxii-relay accepted it until this was fixed)."
    ),
    "windows-registry-key/creator-user-ref-to-identity.json": (
        "stix2-validator limitation: SCO reference targets are not checked. STIX 2.1 6.17.1 creator_user_ref: \"The object referenced in this property MUST be of type user-account.\""
    ),
    "windows-registry-key/no-properties.json": (
        "A registry key without properties is invalid: STIX 2.1 6.17: \"at least one of the properties defined below MUST be included when using this object.\" (both agree; taxii-relay accepted it until this was fixed)."
    ),
    "windows-registry-key/number-of-subkeys-negative.json": (
        "A negative number_of_subkeys is valid: STIX 2.1 6.17.1 number_of_subkeys is a plain integer with no range MUST (both agree; taxii-relay refused -1 with a NON_NEGATIVE rule until this was fixed)."
    ),
    "windows-registry-key/value-without-properties.json": (
        "A registry value without properties is invalid: STIX 2.1 6.17.2 windows-registry-value-type: \"at least one of the properties defined below MUST be included when using this type.\" (both agree; taxii-relay accepted it until this was fixed)."
    ),
    "x509-certificate/uuid-v5-without-contributing-properties.json": (
        "A UUIDv5 is invalid here: neither hashes nor serial_number (the ID Contributing Properties, 6.18.1) is present, so STIX 2.1 2.9 requires a UUIDv4 (\"then a UUIDv4 MUST be used\") (both agree; taxii-relay only warned until this was fixed)."
    ),
    "x509-certificate/v3-extensions-empty.json": (
        "Empty x509_v3_extensions are invalid: STIX 2.1 6.18.2: \"An object using the X.509 v3 Extensions type MUST contain at least one property from this type.\" (both agree; taxii-relay accepted it until this was fixed)."
    ),
}


def fail(message):
    print(f"conformance: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------------
# stix2-validator
# ---------------------------------------------------------------------------------------------------

def load_reference(schemas_dir):
    """Imports stix2-validator and makes sure it can find its JSON schemas."""
    try:
        import stix2validator
        import stix2validator.validator as validator_module
    except ImportError:
        fail("stix2-validator is not installed (pip install stix2-validator)")
    package_dir = os.path.dirname(validator_module.__file__)
    if schemas_dir:
        root = schemas_dir
    elif os.path.isdir(os.path.join(package_dir, "schemas-2.1", "schemas")):
        root = None
    else:
        root = os.path.join(SCHEMA_CACHE, "stix2validator", "schemas-2.1")
        if not os.path.isdir(os.path.join(root, "schemas")):
            fetch_schemas()
    if root:
        if not os.path.isdir(os.path.join(root, "schemas")):
            fail(f"{root} has no schemas/ folder (expected a stix2-validator schemas-2.1 tree)")
        # The validator finds its schemas at dirname(__file__)/schemas-<version>/schemas/.
        fake_package = tempfile.mkdtemp(prefix="stix2validator-schemas-")
        atexit.register(shutil.rmtree, fake_package, True)
        os.symlink(os.path.abspath(root), os.path.join(fake_package, "schemas-2.1"))
        validator_module.__file__ = os.path.join(fake_package, "validator.py")
        print(f"conformance: stix2-validator {stix2validator.__version__} with the schemas in {root}")
    else:
        print(f"conformance: stix2-validator {stix2validator.__version__} with its own schemas")
    options = stix2validator.ValidationOptions(version="2.1", silent=True)
    return stix2validator, options


def fetch_schemas():
    print("conformance: stix2-validator has no JSON schemas (its 3.3.1 wheel ships none); "
          "taking them from the 3.2.0 wheel")
    os.makedirs(SCHEMA_CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary", ":all:", "-d", download, "stix2-validator==3.2.0"], check=True)
        wheels = glob.glob(os.path.join(download, "stix2_validator-3.2.0-*.whl"))
        if not wheels:
            fail("pip download stix2-validator==3.2.0 brought no wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if m.startswith("stix2validator/schemas-2.1/")]
            wheel.extractall(SCHEMA_CACHE, members)


def reference_verdict(reference, options, obj):
    """(valid, errors) from stix2-validator for one object; an exception counts as invalid."""
    try:
        result = reference.validate_parsed_json(obj, options)
    except Exception as e:  # the reference raises on some malformed input (no id, no type)
        return False, [f"{type(e).__name__}: {e}"]
    return result.is_valid, [str(e.message) if hasattr(e, "message") else str(e) for e in result.errors]


# ---------------------------------------------------------------------------------------------------
# taxii-relay
# ---------------------------------------------------------------------------------------------------

def relay_verdicts(binary, files):
    """One `validate --format jsonl` run over the files: every line, in order."""
    run = subprocess.run([binary, "validate", "--format", "jsonl", *files], capture_output=True, text=True)
    if run.returncode not in (0, 1):
        fail(f"{binary} validate exited {run.returncode}: {run.stderr.strip()}")
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------------
# The two modes
# ---------------------------------------------------------------------------------------------------

def case_files():
    files = sorted(glob.glob(os.path.join(CASES, "*", "*.json")))
    if not files:
        fail(f"no cases under {CASES}")
    return files


def run_cases(binary, reference, options):
    files = case_files()
    lines = relay_verdicts(binary, files)
    if len(lines) != len(files):
        fail(f"expected one verdict per case file, got {len(lines)} for {len(files)} files")
    previous = {}
    if os.path.exists(EXPECTED):
        with open(EXPECTED) as f:
            previous = json.load(f)
    expected, disagreements, unexplained, stale = {}, [], [], []
    for path, line in zip(files, lines):
        case = os.path.relpath(path, CASES).replace(os.sep, "/")
        with open(path) as f:
            obj = json.load(f)
        ref_valid, ref_errors = reference_verdict(reference, options, obj)
        relay_valid = bool(line["valid"])
        agree = ref_valid == relay_valid
        note = NOTES.get(case, previous.get(case, {}).get("note", "") if not agree else "")
        expected[case] = {"stix2_validator": ref_valid, "relay": relay_valid, "agree": agree, "note": note}
        if not agree:
            disagreements.append((case, ref_valid, relay_valid, ref_errors, line["errors"], note))
            if not note or note.startswith(AGREEING_NOTE):
                unexplained.append(case)
        elif note.startswith(DISAGREEING_NOTES):
            stale.append(case)
    with open(EXPECTED, "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")

    total, agreeing = len(expected), len(expected) - len(disagreements)
    valid = sum(1 for v in expected.values() if v["relay"])
    print(f"cases: {total} ({valid} valid, {total - valid} invalid for taxii-relay)")
    print(f"agreement: {agreeing} of {total} agree ({100.0 * agreeing / total:.1f}%)")
    for case, ref_valid, relay_valid, ref_errors, relay_errors, note in disagreements:
        print(f"\nDISAGREE {case}: stix2-validator {'valid' if ref_valid else 'INVALID'}, "
              f"taxii-relay {'valid' if relay_valid else 'INVALID'}")
        for e in ref_errors:
            print(f"  stix2-validator: {e}")
        for e in relay_errors:
            print(f"  taxii-relay: [{e['code']}] {e['property']}: {e['message']}")
        print(f"  note: {note or '(none: explain it in NOTES)'}")
    print(f"\nwrote {os.path.relpath(EXPECTED, ROOT)}")
    if unexplained:
        print(f"{len(unexplained)} disagreement(s) without a note: {', '.join(unexplained)}", file=sys.stderr)
    if stale:
        print(f"{len(stale)} case(s) now agree but their note explains a disagreement (update NOTES): "
              f"{', '.join(stale)}", file=sys.stderr)
    return 1 if unexplained or stale else 0


def run_corpus(binary, reference, options, paths):
    files = []
    for p in paths:
        files.extend(sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p])
    grand_total = grand_agree = 0
    for path in files:
        with open(path) as f:
            bundle = json.load(f)
        objects = bundle.get("objects", []) if bundle.get("type") == "bundle" else [bundle]
        lines = relay_verdicts(binary, [path])
        if len(lines) != len(objects):
            fail(f"{path}: {len(objects)} objects but {len(lines)} verdicts")
        kinds = {}
        agree = 0
        for obj, line in zip(objects, lines):
            ref_valid, ref_errors = reference_verdict(reference, options, obj)
            relay_valid = bool(line["valid"])
            if ref_valid == relay_valid:
                agree += 1
                continue
            ref_reason = "; ".join(sorted({e.split(": ", 1)[-1][:110] for e in ref_errors})) or "-"
            relay_reason = ", ".join(sorted({e["code"] + "@" + e["property"] for e in line["errors"]})) or "-"
            key = (ref_valid, relay_valid, ref_reason if not ref_valid else relay_reason)
            entry = kinds.setdefault(key, {"count": 0, "example": obj.get("id"), "types": set()})
            entry["count"] += 1
            entry["types"].add(obj.get("type"))
        total = len(objects)
        grand_total += total
        grand_agree += agree
        print(f"{os.path.basename(path)}: {agree} of {total} objects agree ({100.0 * agree / total:.1f}%)")
        for (ref_valid, relay_valid, reason), entry in sorted(kinds.items(), key=lambda kv: -kv[1]["count"]):
            print(f"  {entry['count']:5} x stix2-validator {'valid' if ref_valid else 'INVALID'}, "
                  f"taxii-relay {'valid' if relay_valid else 'INVALID'} "
                  f"({', '.join(sorted(entry['types']))}; e.g. {entry['example']}): {reason}")
    if grand_total:
        print(f"corpus: {grand_agree} of {grand_total} objects agree ({100.0 * grand_agree / grand_total:.1f}%)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", help="the taxii-relay binary (target/release/taxii-relay)")
    parser.add_argument("--corpus", nargs="+", metavar="PATH",
                        help="bundles (or folders of them) to compare per object instead of the cases")
    parser.add_argument("--schemas", metavar="DIR",
                        help="a stix2-validator schemas-2.1 tree, when the installed package has none")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        fail(f"{args.binary} is not an executable (build it: cargo build --release)")
    reference, options = load_reference(args.schemas)
    if args.corpus:
        return run_corpus(args.binary, reference, options, args.corpus)
    return run_cases(args.binary, reference, options)


if __name__ == "__main__":
    sys.exit(main())
