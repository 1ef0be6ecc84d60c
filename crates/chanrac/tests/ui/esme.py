"""An ESME written with python-smpplib (PyPI), driven by crates/chanrac/tests/ui/dashboard.mjs.

Binds as a transceiver to HOST:PORT with SYSTEM_ID and PASSWORD, sends each TEXT (GSM 7-bit,
one part each) from SENDER to RECIPIENT, waits for every submit_sm_resp, and prints one JSON
object: {"resps": [{"status": N, "message_id": "…"}, …]} in the order of the texts.
"""
import json
import socket
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm

host, port, system_id, password, sender, recipient = sys.argv[1:7]
texts = sys.argv[7:]

client = smpplib.client.Client(host, int(port), timeout=1, allow_unknown_opt_params=True)
resps = {}


def on_sent(pdu, **kwargs):
    mid = pdu.message_id
    if isinstance(mid, bytes):
        mid = mid.decode()
    resps[pdu.sequence] = {"status": pdu.status, "message_id": mid or None}


client.set_message_sent_handler(on_sent)
client.set_error_pdu_handler(lambda pdu: None)
client.connect()
client.bind_transceiver(system_id=system_id, password=password)

seqs = []
for text in texts:
    parts, coding, esm_class = smpplib.gsm.make_parts(text, encoding=smpplib.consts.SMPP_ENCODING_DEFAULT)
    if len(parts) != 1:
        sys.exit(f"one part per text, please: {text!r}")
    pdu = client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_INTL,
        source_addr=sender,
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr=recipient,
        short_message=parts[0],
        data_coding=coding,
        esm_class=esm_class,
    )
    seqs.append(pdu.sequence)

def pump(done, seconds=15):
    """Reads PDUs until `done()` or the time is up."""
    deadline = time.time() + seconds
    while not done() and time.time() < deadline:
        try:
            client.read_once(auto_send_enquire_link=False)
        except socket.timeout:
            continue


pump(lambda: len(resps) >= len(seqs))
client.unbind()
client.disconnect()
print(json.dumps({"resps": [resps.get(s) for s in seqs]}))
