#!/usr/bin/env python3
"""Golden Avro bytes for every schema version, written by an independent implementation.

fastavro (not avsc) encodes each case with Avro single-object encoding: C3 01, the writer
schema's CRC-64-AVRO fingerprint computed by fastavro from fastavro's own Parsing Canonical
Form, then the body. The value each message must decode to is fastavro's own resolution of
the bytes against the reader (highest) version of the record.

    pip install fastavro   # 1.13.1 wrote the committed fixtures
    python3 scripts/avro/make-golden.py

Writes packages/core/test-fixtures/avro/: one <Record>-v<N>-<case>.hex per message,
cases.json (file, record, writer version, expected decoded value) and fingerprints.json
(canonical form and fingerprint of every schema file). CI only reads these files.
"""
import glob
import io
import json
import os
import struct

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMAS = os.path.join(ROOT, "schemas", "avro")
OUT = os.path.join(ROOT, "packages", "core", "test-fixtures", "avro")

T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z


def quarter_hours(n, start=T0):
    return [
        {"ts": start + i * 900_000, "value": round(0.25 + (i % 7) * 0.125, 3),
         "quality": ["MEASURED", "ESTIMATED", "CORRECTED"][i % 3 if i % 10 == 0 else 0]}
        for i in range(n)
    ]


HEADER = {"meterId": "707057500012345678", "tenant": "elvia", "kind": "ELECTRICITY_IMPORT",
          "unit": "KWH", "readingType": "INTERVAL", "intervalSeconds": 900}

CASES = {
    ("MeterReading", 1): {
        "water-interval": {"meterId": "WM-0042", "tenant": "default", "kind": "WATER", "unit": "L",
                           "readingType": "INTERVAL", "ts": T0, "intervalSeconds": 3600,
                           "value": 12.5, "quality": "MEASURED"},
        "heat-register": {"meterId": "HM-Ærøskøbing-7", "tenant": "bo-lavet", "kind": "HEAT", "unit": "MWH",
                          "readingType": "REGISTER", "ts": T0 + 1, "intervalSeconds": 0,
                          "value": 1234567.875, "quality": "CORRECTED"},
    },
    ("MeterReading", 2): {
        "electricity-priced": {**HEADER, "ts": T0, "value": 0.734, "quality": "MEASURED",
                               "zoneId": None, "priceArea": "NO1"},
        "temperature-zone": {"meterId": "T-room-3", "tenant": "oslo-kommune", "kind": "TEMPERATURE",
                             "unit": "CELSIUS", "readingType": "INSTANT", "ts": 0, "intervalSeconds": 0,
                             "value": -17.25, "quality": "ESTIMATED", "zoneId": "bygg-4/kjeller",
                             "priceArea": None},
        "export-extremes": {"meterId": "", "tenant": "", "kind": "ELECTRICITY_EXPORT", "unit": "WH",
                            "readingType": "INTERVAL", "ts": 253_402_300_799_999, "intervalSeconds": 2_147_483_647,
                            "value": 1.7976931348623157e308, "quality": "MEASURED", "zoneId": "z",
                            "priceArea": "SE4"},
        "gas-negative-ts": {"meterId": "G-1", "tenant": "default", "kind": "GAS", "unit": "M3",
                            "readingType": "REGISTER", "ts": -86_400_000, "intervalSeconds": 0,
                            "value": 5e-324, "quality": "MEASURED", "zoneId": None, "priceArea": None},
    },
    ("MeterReadingBatch", 1): {
        "day-96": {**HEADER, "zoneId": "nettstasjon-17", "priceArea": "NO5", "readings": quarter_hours(96)},
        "day-24-water": {"meterId": "WM-0042", "tenant": "default", "kind": "WATER", "unit": "M3",
                         "readingType": "INTERVAL", "intervalSeconds": 3600, "zoneId": None, "priceArea": None,
                         "readings": [{"ts": T0 + h * 3_600_000, "value": 0.01 * h, "quality": "MEASURED"}
                                      for h in range(24)]},
        "empty": {**HEADER, "zoneId": None, "priceArea": None, "readings": []},
    },
    ("MeterReading", 3): {
        "water-register-wraps": {"meterId": "WM-0042", "tenant": "oslo-vann", "kind": "WATER", "unit": "M3",
                                 "readingType": "REGISTER", "ts": T0, "intervalSeconds": 0, "value": 99_999.875,
                                 "quality": "MEASURED", "zoneId": "zone-03", "priceArea": None,
                                 "registerModulus": 100_000},
        "interval-unstated": {**HEADER, "ts": T0, "value": 0.734, "quality": "ESTIMATED", "zoneId": None,
                              "priceArea": "NO1", "registerModulus": None},
        "heat-register-large": {"meterId": "HM-7", "tenant": "default", "kind": "HEAT", "unit": "WH",
                                "readingType": "REGISTER", "ts": T0 + 1, "intervalSeconds": 0,
                                "value": 999_999_999_999.5, "quality": "CORRECTED", "zoneId": None,
                                "priceArea": None, "registerModulus": 10**12},
    },
    ("MeterReadingBatch", 2): {
        "day-24-register-wraps": {"meterId": "WM-0042", "tenant": "default", "kind": "WATER", "unit": "M3",
                                  "readingType": "REGISTER", "intervalSeconds": 0, "zoneId": "zone-01",
                                  "priceArea": None, "registerModulus": 1000,
                                  "readings": [{"ts": T0 + h * 3_600_000, "value": round((990 + 0.5 * h) % 1000, 3),
                                                "quality": "MEASURED"} for h in range(24)]},
        "day-96-unstated": {**HEADER, "zoneId": None, "priceArea": "NO5", "registerModulus": None,
                            "readings": quarter_hours(96)},
    },
    ("CleanReadingBatch", 1): {
        "two": {"tenant": "elvia", "meter": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "kind": "HEAT", "unit": "KWH",
                "readingType": "INTERVAL", "intervalSeconds": 3600, "zoneId": "z1", "priceArea": "NO1",
                "readings": [{"ts": T0, "value": 3.5, "quality": "MEASURED", "offset": 0},
                             {"ts": T0 + 3_600_000, "value": 4.0, "quality": "ESTIMATED",
                              "offset": 123_456_789_012}]},
        "empty": {"tenant": "default", "meter": "00000000000000000000000000000000", "kind": "WATER",
                  "unit": "L", "readingType": "INSTANT", "intervalSeconds": 0, "zoneId": None,
                  "priceArea": None, "readings": []},
    },
    ("CleanReadingBatch", 2): {
        "two": {"tenant": "elvia", "meter": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "kind": "HEAT", "unit": "KWH",
                "readingType": "INTERVAL", "intervalSeconds": 3600, "zoneId": "z1", "priceArea": "NO1",
                "registerModulus": None,
                "readings": [{"ts": T0, "value": 3.5, "quality": "MEASURED", "offset": 0,
                              "version": 2**48 + 2**47 + T0 + 5_000},
                             {"ts": T0 + 3_600_000, "value": 4.0, "quality": "CORRECTED",
                              "offset": 123_456_789_012, "version": 2 * 2**48 + 2**47 + 2**47 - 1}]},
        "register": {"tenant": "default", "meter": "00000000000000000000000000000000", "kind": "WATER",
                     "unit": "M3", "readingType": "REGISTER", "intervalSeconds": 0, "zoneId": None,
                     "priceArea": None, "registerModulus": 100000.0,
                     "readings": [{"ts": T0, "value": 99_999.5, "quality": "ESTIMATED", "offset": 7,
                                   "version": 2**47 + 1}]},
    },
    ("HourlyBatch", 1): {
        "water": {"tenant": "oslo-vann", "meter": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "kind": "WATER", "unit": "L",
                  "zoneId": "Z1",
                  "rows": [{"hour": T0, "valueSum": 12.5, "valueMin": 2.5, "valueMax": 4.0, "samples": 4,
                            "firstTs": T0, "lastTs": T0 + 2_700_000, "coverage": 1.0,
                            "version": 123_456_789_012, "revision": False},
                           {"hour": T0 + 3_600_000, "valueSum": 0.0, "valueMin": 0.0, "valueMax": 0.0, "samples": 4,
                            "firstTs": T0 + 3_600_000, "lastTs": T0 + 6_300_000, "coverage": 1.0,
                            "version": 123_456_789_013, "revision": True}]},
        "empty": {"tenant": "default", "meter": "00000000000000000000000000000000", "kind": "TEMPERATURE",
                  "unit": "CELSIUS", "zoneId": None, "rows": []},
    },
    ("HourlyBatch", 2): {
        "mixed": {"tenant": "oslo-vann", "meter": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "kind": "WATER", "unit": "L",
                  "zoneId": None,
                  "rows": [{"hour": T0, "valueSum": 15.5, "valueMin": 3.5, "valueMax": 7.0, "samples": 3,
                            "firstTs": T0, "lastTs": T0 + 7_200_000, "coverage": 1.0,
                            "version": 123_456_789_014, "revision": False, "source": "MIXED",
                            "registerMismatch": True}]},
    },
    ("Invoice", 1): {
        "full": {"invoiceId": "INV-2024-06-0001", "tenant": "elvia", "meterId": "707057500012345678",
                 "kind": "ELECTRICITY_IMPORT", "periodStart": T0, "periodEnd": T0 + 30 * 86_400_000,
                 "billedQuantity": 412.5, "unit": "KWH", "amount": 1187.42, "currency": "NOK",
                 "priceArea": "NO1"},
        "nulls": {"invoiceId": "i", "tenant": "default", "meterId": "WM-0042", "kind": "WATER",
                  "periodStart": T0, "periodEnd": T0 + 1, "billedQuantity": 0.0, "unit": "M3",
                  "amount": None, "currency": None, "priceArea": None},
    },
    ("SpotPrice", 1): {
        "no1-morning": {"priceArea": "NO1", "hour": T0 + 7 * 3_600_000, "price": 1.23456, "currency": "NOK"},
        "negative": {"priceArea": "SE4", "hour": T0, "price": -0.0125, "currency": "SEK"},
    },
    ("Alert", 1): {
        "firing": {"alertId": "a-1", "dedupKey": "NIGHT_FLOW/3f2a9c0d", "type": "NIGHT_FLOW",
                   "status": "FIRING", "severity": "WARNING", "tenant": "default",
                   "meter": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "zoneId": "blokk-B", "startsAt": T0,
                   "endsAt": None, "summary": "Water flow every night hour for 3 nights (min 4.2 L/h)",
                   "details": {"minFlowLph": 4.2, "nights": 3.0}},
        "resolved": {"alertId": "a-2", "dedupKey": "FROST_RISK/z", "type": "FROST_RISK", "status": "RESOLVED",
                     "severity": "CRITICAL", "tenant": "t", "meter": "ab", "zoneId": None, "startsAt": T0,
                     "endsAt": T0 + 7_200_000, "summary": "", "details": {}},
        "other-types": {"alertId": "a-3", "dedupKey": "k", "type": "METER_SILENT", "status": "FIRING",
                        "severity": "INFO", "tenant": "t", "meter": "cd", "zoneId": None, "startsAt": 1,
                        "endsAt": 2, "summary": "silent", "details": {"hours": 49.0}},
    },
}


def strip_logical(schema):
    """The schema without logicalType, so fastavro reads timestamps as plain ints like meterstream does."""
    if isinstance(schema, dict):
        return {k: strip_logical(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [strip_logical(s) for s in schema]
    return schema


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, "*.hex")):
        os.remove(old)
    files = {}
    for path in sorted(glob.glob(os.path.join(SCHEMAS, "*", "v*.avsc"))):
        record = os.path.basename(os.path.dirname(path))
        version = int(os.path.basename(path)[1:-len(".avsc")])
        with open(path) as f:
            files[(record, version)] = (os.path.relpath(path, SCHEMAS), json.load(f))

    fingerprints = []
    for (record, version), (rel, raw) in sorted(files.items()):
        canonical = to_parsing_canonical_form(fastavro.parse_schema(raw))
        fp_le = fingerprint(canonical, "CRC-64-AVRO")  # hex of the 8 bytes, little-endian
        fp = struct.unpack("<Q", bytes.fromhex(fp_le))[0]
        fingerprints.append({"file": rel, "record": record, "version": version, "canonical": canonical,
                             "fingerprintLE": fp_le, "fingerprint": str(fp),
                             "fingerprintSigned": str(struct.unpack("<q", bytes.fromhex(fp_le))[0])})

    missing = sorted(set(files) - set(CASES))
    if missing:
        raise SystemExit(f"no golden cases for {missing}")

    cases = []
    for (record, version), named in sorted(CASES.items()):
        rel, raw = files[(record, version)]
        reader_version = max(v for (r, v) in files if r == record)
        writer = fastavro.parse_schema(strip_logical(raw))
        reader = fastavro.parse_schema(strip_logical(files[(record, reader_version)][1]))
        header = b"\xc3\x01" + bytes.fromhex(
            fingerprint(to_parsing_canonical_form(fastavro.parse_schema(raw)), "CRC-64-AVRO"))
        for name, value in named.items():
            body = io.BytesIO()
            fastavro.schemaless_writer(body, writer, value)
            message = header + body.getvalue()
            expected = fastavro.schemaless_reader(io.BytesIO(body.getvalue()), writer, reader)
            fname = f"{record}-v{version}-{name}.hex"
            with open(os.path.join(OUT, fname), "w") as f:
                f.write(message.hex() + "\n")
            cases.append({"file": fname, "record": record, "writerVersion": version,
                          "readerVersion": reader_version, "expected": expected})

    meta = {"generator": f"scripts/avro/make-golden.py with fastavro {fastavro.__version__}"}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({**meta, "cases": cases}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "fingerprints.json"), "w") as f:
        json.dump({**meta, "schemas": fingerprints}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} messages for {len(files)} schema files to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
