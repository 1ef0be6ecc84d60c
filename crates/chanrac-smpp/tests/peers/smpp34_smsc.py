"""An upstream SMSC written with the smpp34 package (PyPI), driven by
crates/chanrac-smpp/tests/peers.rs.

Listens on 127.0.0.1:PORT, accepts every bind, accepts every submit_sm with the message id
`s34-N`, and sends a delivery receipt (esm_class 0x04, receipted_message_id and
message_state TLVs, the appendix B text) for each one that asks for it. Each accepted
message is written to standard output as one JSON line; "READY" comes first.
"""
import asyncio
import json
import sys

import smpp34

port = int(sys.argv[1])


async def receipt(esme, ev, mid):
    text = f"id:{mid} sub:001 dlvr:001 submit date:2611220000 done date:2611220000 stat:DELIVRD err:000 text:"
    await esme.deliver_sm(
        ev.source_addr,
        text.encode(),
        source_addr=ev.destination_addr,
        esm_class=0x04,
        tlvs=[
            smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, mid.encode() + b"\0"),
            smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, b"\x02"),
        ],
    )


async def main():
    server = smpp34.Server("127.0.0.1", port, system_id="smpp34-smsc")
    await server.start()
    print("READY", flush=True)
    esmes = {}
    n = 0
    tasks = set()
    while True:
        ev = await server.next()
        if isinstance(ev, smpp34.Esme):
            esmes[ev.session_id] = ev
        elif isinstance(ev, smpp34.SubmitSmEvent):
            n += 1
            mid = f"s34-{n}"
            ev.accept(mid)
            print(json.dumps({
                "message_id": mid,
                "source": ev.source_addr,
                "dest": ev.destination_addr,
                "data_coding": ev.data_coding,
                "esm_class": ev.esm_class,
                "short_message": ev.short_message.hex(),
            }), flush=True)
            esme = esmes.get(ev.session_id)
            if esme is not None and ev.registered_delivery & 1 and esme.can_receive:
                t = asyncio.create_task(receipt(esme, ev, mid))
                tasks.add(t)
                t.add_done_callback(tasks.discard)


asyncio.run(main())
