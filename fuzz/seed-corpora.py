#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Seeds come from the spec examples (the JSON blocks of the spec texts, default
/work/shared/seeds, or the directory given as the first argument) and from the crate's own
test vectors (protocols/src/ktv/testdata, the literal requests of protocols/src/*/tests.rs
listed below). Targets whose first input byte chooses a variant get each seed once per
variant. Sealed KTV data and jpos PIN blocks are built with the openssl command line, so the
seeds also check interoperability with a second implementation.

Usage: `python3 fuzz/seed-corpora.py [SPEC_DIR [CORPUS_DIR]]` (default: /work/shared/seeds and
fuzz/corpus). How the committed corpora are minimized around these seeds: docs/fuzzing.md.
"""

import base64
import gzip
import hashlib
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPECS = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/seeds")
CORPUS = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "fuzz" / "corpus"
KTV_KEY = b"posgate-ktv-key!"  # fuzz/src/lib.rs KTV_KEY
PIN_KEY = b"0123456789ABCDEF"
PAN = "6222021234567890123"

# Pospal Cmd::KNOWN, in order (protocols/src/pospal/cmd.rs).
POSPAL_CMDS = [
    "ticket.new", "ticket.reverse", "customer.new", "customer.recharge", "couponCode.use",
    "stockTaking.new", "product.edit", "productOrder.createProductOrder",
    "productOrder.updateProductOrder", "productOrder.completePay",
    "stockFlow.createStockFlowIn", "stockFlow.editStockFlowIn", "stockFlow.confirmStockFlowIn",
    "stockFlow.refuseStockFlowIn", "stockFlow.createStockFlowNormalReturn",
    "stockFlow.createStockFlowReturnToSupplier", "stockFlow.createStockFlowTransfer",
    "stockFlow.refuseStockFlowTransferOut", "stockFlow.confirmStockFlowTransferOut",
    "stockFlow.refuseStockFlowTransferIn", "stockFlow.confirmStockFlowTransferIn",
    "productRequest.new",
]

# jpos forms, one per endpoint in Endpoint::ALL order: the `to_form()` of the samples of
# protocols/src/jpos/tests.rs (`every_request_round_trips`).
JPOS_FORMS = [
    'storeNo=898310048990001&terminalNo=10000001&operatorNo=01',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=8800001234&traceNo=000007&batchNo'
    '=000001',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00004'
    '2&batchNo=000001&track2=6222021234567890123%3D2512101&track3=996222021234567890123%3'
    'D1561560500050006&password=0123456789ABCDEF&consumeType=01&pointAmount=10.50&cashAmo'
    'unt=1234.50&vaucher=%5B%7B%22id%22%3A1%2C%22num%22%3A2%7D%2C%7B%22id%22%3A2%2C%22num'
    '%22%3A1%7D%5D&registerTraceNo=POS-77%2312',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00004'
    '2&batchNo=000001&track2=6222021234567890123%3D2512101&track3=996222021234567890123%3'
    'D1561560500050006&password=0123456789ABCDEF&consumeType=01&pointAmount=10.50&cashAmo'
    'unt=1234.50&vaucher=%5B%7B%22id%22%3A1%2C%22num%22%3A2%7D%2C%7B%22id%22%3A2%2C%22num'
    '%22%3A1%7D%5D&registerTraceNo=POS-77%2312',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00004'
    '3&batchNo=000001&oriBatchNo=000001&oriTraceNo=000042&oriTransTime=1415125804472',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00004'
    '3&batchNo=000001&oriBatchNo=000001&oriTraceNo=000042&oriTransTime=1415125804472',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00000'
    '1&batchNo=000002&oriSerialNo=10000000000012&oriTransDate=20141111&oriRegisterTraceNo'
    '=R1&pointAmount=1.50',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00000'
    '2&batchNo=000002&track2=6222021234567890123%3D2512101&track3=996222021234567890123%3'
    'D1561560500050006&oriSerialNo=100000000231&oriBatchNo=000002&oriTraceNo=000001&oriTr'
    'ansTime=1415125804472&oriRegisterTraceNo=R1',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=8800001234&traceNo=000007&batchNo'
    '=000001',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00005'
    '0&batchNo=000001&track2=6222021234567890123%3D2512101&track3=996222021234567890123%3'
    'D1561560500050006&ticket=%5B%7B%22id%22%3A1%2C%22num%22%3A5%2C%22type%22%3A%2201%22%'
    '7D%2C%7B%22id%22%3A2%2C%22num%22%3A1%2C%22type%22%3A%2203%22%7D%5D',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00005'
    '0&batchNo=000001&track2=6222021234567890123%3D2512101&track3=996222021234567890123%3'
    'D1561560500050006&ticket=%5B%7B%22id%22%3A1%2C%22num%22%3A5%2C%22type%22%3A%2201%22%'
    '7D%2C%7B%22id%22%3A2%2C%22num%22%3A1%2C%22type%22%3A%2203%22%7D%5D',
    'storeNo=898310048990001&terminalNo=10000001&mobileNo=13800000000&batchNo=000003',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123&traceNo=00000'
    '9&batchNo=000003&mobileNo=13800000000&verifyCode=493021&idType=01&idNo=0123456789012'
    '345678',
    'storeNo=898310048990001&terminalNo=10000001&cardNo=8800001234&traceNo=000099&batchNo'
    '=000001&pointDebitCount=3&pointDebitAmount=123.45&pointCeditCount=1&pointCreditAmoun'
    't=5.00&ticketDebitCount=2&ticketDebitAmount=20.00&ticketCreditCount=0&ticketCreditAm'
    'ount=0.00&totalTransCount=7&cancelCount=1&refundCount=0&cardActiveCount=1',
]

WJ091_REPLIES = [
    '{"ret":0,"msg":"ok","data":{"open_time":"10:00:00","close_time":"02:00:00"}}',
    '{"ret":0,"msg":"ok","total":1,"data":[{"voucher":"B1","total_money":100}]}',
    '{"ret":0,"msg":"ok","data":null}',
    '{"ret":1,"msg":"no data"}',
]


def json_blocks(text):
    """Every balanced {...} block of `text` (strings inside it respected), outermost only."""
    blocks, depth, start, quoted, escaped = [], 0, 0, False, False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"' and depth:
            quoted = True
        elif ch == "{":
            start = i if depth == 0 else start
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                blocks.append(text[start:i + 1])
    return [b for b in blocks if len(b) < 8000]


def spec(name):
    """The examples of a spec: its fenced code blocks and its balanced {...} blocks."""
    text = (SPECS / name).read_text(encoding="utf-8")
    fenced = [part.split("\n", 1)[-1] for part in text.split("```")[1::2]]
    return sorted(set(json_blocks(text) + [f for f in fenced if "{" in f and len(f) < 8000]))


def crate_literals(module):
    """The JSON literals (`r#"{...}"#`) of a protocols module's sources and tests."""
    literals = []
    for source in sorted((ROOT / "protocols" / "src" / module).glob("*.rs")):
        text = source.read_text(encoding="utf-8")
        literals += [m for m in re.findall(r'r#"(.*?)"#', text, re.S) if m.startswith("{")]
    return sorted(set(literals))


def examples(spec_name, module):
    """A protocol's seeds: its spec's examples, then its module's literals."""
    return spec(spec_name) + crate_literals(module)


def gzip_blobs(text):
    """The base64 gzip blobs (`H4sI...`) quoted in a spec."""
    return [part for part in text.split('"') if part.startswith("H4sI") and " " not in part]


def write(target, data, prefixes=(None,)):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    data = data.encode("utf-8") if isinstance(data, str) else data
    for prefix in prefixes:
        entry = data if prefix is None else bytes([prefix]) + data
        (folder / hashlib.sha1(entry).hexdigest()).write_bytes(entry)


def openssl(args, data):
    return subprocess.run(["openssl", "enc", *args], input=data, check=True,
                          capture_output=True).stdout


def sealed(json_bytes, cbc):
    zipped = gzip.compress(json_bytes, mtime=0)
    if not cbc:
        return openssl(["-aes-128-ecb", "-K", KTV_KEY.hex()], zipped)
    iv = bytes(range(16))
    return iv + openssl(["-aes-128-cbc", "-K", KTV_KEY.hex(), "-iv", iv.hex()], zipped)


def pin_block(pin):
    field = bytes.fromhex(f"0{len(pin):X}{pin}".ljust(16, "F"))
    pan = bytes.fromhex("0000" + PAN[-13:-1])
    clear = bytes(a ^ b for a, b in zip(field, pan))
    return openssl(["-des-ede", "-K", PIN_KEY.hex(), "-nopad"], clear).hex().upper()


def mqtt():
    for block in examples("mqtt-pos-consumption-machine.txt", "mqtt_pos"):
        write("mqtt_inbound", block, range(6))
        write("mqtt_uploads", block, range(5))
        write("mqtt_consume", block, range(2))


def ds50():
    for block in examples("ds50-cloud-speaker.txt", "ds50"):
        for target in ("ds50_sale_request", "ds50_sale_reply", "ds50_details_request",
                       "ds50_details_reply", "ds50_posparam", "ds50_broadcast"):
            write(target, block)


def pospal_body_text(envelope):
    try:
        value = json.loads(envelope)
        return value.get("cmd"), value.get("body")
    except (ValueError, AttributeError):
        pass
    cmd = next((c for c in POSPAL_CMDS if f'"{c}"' in envelope), None)
    at = envelope.find('"body"')
    inner = json_blocks(envelope[at + 6:]) if at >= 0 else []
    return cmd, (inner[0].replace('\\"', '"') if inner else None)


def pospal():
    for block in examples("pospal-notifications.txt", "pospal"):
        write("pospal_envelope", block)
        write("pospal_notification", block)
        cmd, body = pospal_body_text(block)
        if isinstance(body, str):
            index = POSPAL_CMDS.index(cmd.strip()) if cmd and cmd.strip() in POSPAL_CMDS else 0
            write("pospal_body", body, [index])


def ktv():
    blocks = examples("ktv-merchant-link.txt", "ktv")
    for block in blocks:
        write("ktv_envelope", block)
        write("ktv_upload", block, range(5))
        write("ktv_json", block, range(4))
        write("wj091_request", block)
        write("wj091_reply", block, range(10))
    for reply in WJ091_REPLIES:
        write("wj091_reply", reply, range(10))
    testdata = ROOT / "protocols" / "src" / "ktv" / "testdata"
    fixture = (testdata / "fixture.json").read_bytes()
    write("ktv_json", fixture, range(4))
    write("ktv_decrypt", (testdata / "fixture.sealed").read_bytes(), [0])
    for cbc in (False, True):
        raw = sealed(fixture, cbc)
        write("ktv_decrypt", base64.b64encode(raw), [1 if cbc else 0])
        write("ktv_decrypt", raw, [3 if cbc else 2])
        envelope = {"companycode": "FUZZ01", "data": base64.b64encode(raw).decode()}
        write("ktv_upload", json.dumps(envelope), [1])
    write("ktv_gunzip", base64.b64encode(gzip.compress(fixture, mtime=0)), [0])
    write("ktv_gunzip", gzip.compress(fixture, mtime=0), [1])
    for blob in gzip_blobs((SPECS / "ktv-merchant-link.txt").read_text(encoding="utf-8")):
        write("ktv_gunzip", blob, [0])
        write("ktv_decrypt", blob, [0])


def jpos():
    for index, form in enumerate(JPOS_FORMS):
        write("jpos_request", form, [index])
    for pin in ("1234", "123456", "000000000000"):
        write("jpos_pin", PIN_KEY + f"{pin_block(pin)},{PAN}".encode())


if __name__ == "__main__":
    mqtt()
    ds50()
    pospal()
    ktv()
    jpos()
    for folder in sorted(CORPUS.iterdir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} files")
