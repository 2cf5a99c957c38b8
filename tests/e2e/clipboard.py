"""A clipboard owner for the desktop e2e tests: puts the text given on the command line on the
X display's CLIPBOARD and serves it until terminated, so a test can paste a path into a native
GTK file dialog in one event (typing it key by key races GTK's inline completion, which can
append a completion computed for a prefix typed earlier: "mlflow.dbdb").

    python3 clipboard.py TEXT

Prints "ready" on stdout once the text is on the clipboard.
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

clipboard = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD)
clipboard.set_text(sys.argv[1], -1)


def announce():
    print("ready", flush=True)
    return False


GLib.idle_add(announce)
Gtk.main()
