"""An ESME written with python-smpplib (PyPI), driven by crates/chanrac-smpp/tests/peers.rs.

Binds as a transceiver to HOST:PORT, sends a GSM 7-bit message, a UCS-2 Vietnamese message
and a three-part concatenated scam (UDH, as smpplib splits it), all asking for delivery
receipts, then listens until every response and the expected receipts arrived (or a
deadline passes) and prints one JSON object with what it saw.
"""
import json
import socket
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm

host, port, expected_receipts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
SCAM = (
    "Chúc mừng thuê bao 0912xxx trúng thưởng 50tr từ chương trình tri ân khách hàng. "
    "Nhận thưởng tại https://vtb-qua.xyz trước 24h, phí nhận 200k. "
    "Liên hệ tổng đài để được hướng dẫn chi tiết."
)

client = smpplib.client.Client(host, port, timeout=1, allow_unknown_opt_params=True)
resps = {}
receipts = []


def on_sent(pdu, **kwargs):
    mid = pdu.message_id
    if isinstance(mid, bytes):
        mid = mid.decode()
    resps[pdu.sequence] = {"status": pdu.status, "message_id": mid or None}


def on_received(pdu, **kwargs):
    rid = getattr(pdu, "receipted_message_id", None)
    if isinstance(rid, bytes):
        rid = rid.decode().rstrip("\0")
    text = pdu.short_message.decode("latin-1") if isinstance(pdu.short_message, bytes) else str(pdu.short_message)
    receipts.append({"receipted_message_id": rid, "text": text, "esm_class": pdu.esm_class})


client.set_message_sent_handler(on_sent)
client.set_message_received_handler(on_received)
# Error responses are what the test looks for: record them instead of raising.
client.set_error_pdu_handler(lambda pdu: None)
client.connect()
client.bind_transceiver(system_id="smpplib", password="secret")


def send(text, encoding):
    parts, coding, esm_class = smpplib.gsm.make_parts(text, encoding=encoding)
    seqs = []
    for part in parts:
        pdu = client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_INTL,
            source_addr="84900000001",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            destination_addr="84912345678",
            short_message=part,
            data_coding=coding,
            esm_class=esm_class,
            registered_delivery=True,
        )
        seqs.append(pdu.sequence)
    return seqs, coding


gsm, gsm_coding = send("Hen gap ban luc 7h toi nay o quan cafe nhe, nho mang theo tai lieu", smpplib.consts.SMPP_ENCODING_DEFAULT)
ucs2, ucs2_coding = send("Mã OTP của bạn là 482913. Không chia sẻ mã này với bất kỳ ai.", smpplib.consts.SMPP_ENCODING_ISO10646)
scam, _ = send(SCAM, smpplib.consts.SMPP_ENCODING_ISO10646)
total = len(gsm) + len(ucs2) + len(scam)

deadline = time.time() + 15
while time.time() < deadline and (len(resps) < total or len(receipts) < expected_receipts):
    try:
        client.read_once(auto_send_enquire_link=False)
    except socket.timeout:
        pass
client.unbind()
client.disconnect()
print(json.dumps({
    "gsm": gsm, "gsm_coding": gsm_coding,
    "ucs2": ucs2, "ucs2_coding": ucs2_coding,
    "scam": scam,
    "resps": {str(k): v for k, v in resps.items()},
    "receipts": receipts,
}))
