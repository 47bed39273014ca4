"""Imported first in the warm fork server (warm_start.py), before torch: the server itself ignores the signals a
terminal or `timeout` sends to the runner's process group (it ends when the runner does, not with a hang-up, so
the runner never loses track of its members), and lets go of the runner's terminal and pipes (its output goes
nowhere; each member opens its own log). Stdlib only.
"""

import os
import signal

for _sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT):
    signal.signal(_sig, signal.SIG_IGN)
_null = os.open(os.devnull, os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
os.close(_null)
