"""An SMSC written with the smpp34 package (PyPI) for crates/chanrac/tests/hub_smpp.rs: it
plays the operator's SMSC behind `chanrac serve --smpp`, delivering subscribers' MO messages
to the hub's short code and taking what the hub sends (replies, one-time passwords).

Listens on 127.0.0.1:PORT and accepts every bind. Each line on standard input
`MO <from> <to> <text>` is delivered as a deliver_sm on the most recent bind that can
receive; its deliver_sm_resp status is printed. Every submit_sm is accepted (message id
`mt-N`) and printed with its decoded text. Output is one JSON line per event; "READY" first.
"""
import asyncio
import json
import sys
import threading

import smpp34

port = int(sys.argv[1])


def emit(**event):
    print(json.dumps(event), flush=True)


def decode(data_coding, raw):
    if data_coding == 0x08:
        return raw.decode("utf-16-be", "replace")
    return raw.decode("latin-1")


async def deliver(esme, n, frm, to, text):
    try:
        raw = text.encode("ascii")
        dcs = 0x00
    except UnicodeEncodeError:
        raw = text.encode("utf-16-be")
        dcs = 0x08
    resp = await esme.deliver_sm(to, raw, source_addr=frm, source_addr_ton=1, source_addr_npi=1,
                                 dest_addr_ton=3, data_coding=dcs)
    emit(event="deliver_resp", n=n, status=resp.command_status)


async def main():
    server = smpp34.Server("127.0.0.1", port, system_id="smpp34-smsc")
    await server.start()
    loop = asyncio.get_running_loop()
    commands = asyncio.Queue()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.rstrip("\n"))

    threading.Thread(target=read_stdin, daemon=True).start()
    emit(event="ready")
    receivers = []
    tasks = set()
    mt = 0

    async def run_commands():
        n = 0
        while True:
            line = await commands.get()
            parts = line.split(" ", 3)
            if len(parts) < 4 or parts[0] != "MO":
                emit(event="bad_command", line=line)
                continue
            while not receivers:
                await asyncio.sleep(0.05)
            n += 1
            t = asyncio.create_task(deliver(receivers[-1], n, parts[1], parts[2], parts[3]))
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    cmd_task = asyncio.create_task(run_commands())
    while True:
        ev = await server.next()
        if isinstance(ev, smpp34.Esme):
            emit(event="bind", system_id=ev.system_id)
            if ev.can_receive:
                receivers.append(ev)
        elif isinstance(ev, smpp34.Unbound):
            receivers[:] = [e for e in receivers if e.session_id != ev.session_id]
        elif isinstance(ev, smpp34.SubmitSmEvent):
            mt += 1
            ev.accept(f"mt-{mt}")
            payload = ev.short_message
            for t in ev.tlvs:
                if t.tag == smpp34.TLV_MESSAGE_PAYLOAD:
                    payload = bytes(t.value)
            emit(event="submit", source=ev.source_addr, dest=ev.destination_addr,
                 text=decode(ev.data_coding, payload))
    cmd_task.cancel()


asyncio.run(main())
