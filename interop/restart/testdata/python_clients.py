# python-socketio (Debian's python3-socketio 5.7, /usr/bin/python3), one
# client per transport, reporting its lifecycle as JSON lines on stdout
# until stdin ends. python-socketio 5.7 gives no disconnect reason.
#
#   /usr/bin/python3 python_clients.py <url> <reconnection delay ms>
import json
import sys
import threading

import socketio

url, delay = sys.argv[1], int(sys.argv[2]) / 1000
lock = threading.Lock()


def report(**event):
    with lock:
        print(json.dumps(event), flush=True)


def start(transport):
    c = socketio.Client(reconnection_delay=delay, reconnection_delay_max=delay, randomization_factor=0)
    c.on("connect", lambda: report(transport=transport, event="connect", via=c.transport()))
    c.on("disconnect", lambda: report(transport=transport, event="disconnect"))
    c.connect(url, transports=[transport])
    return c


clients = [start(t) for t in ("polling", "websocket")]
sys.stdin.read()
for c in clients:
    c.disconnect()
