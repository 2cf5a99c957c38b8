"""A native drag source for the desktop e2e tests: a small GTK window whose button drags the
files named on the command line (as text/uri-list), the way a file manager does. The test moves
the pointer with xdotool from this window onto the app, so the app receives a real XDND drop.

    python3 drag_source.py X Y PATH...   (the window's top-left corner on the screen)

Exits when the drag ends (dropped or refused).
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gio, Gtk  # noqa: E402

x, y = int(sys.argv[1]), int(sys.argv[2])
uris = [Gio.File.new_for_path(p).get_uri() for p in sys.argv[3:]]

window = Gtk.Window(title="lathe-e2e-drag-source")
window.set_default_size(160, 80)
window.move(x, y)
button = Gtk.Button(label="drag")
button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
button.drag_source_add_uri_targets()
button.connect("drag-data-get", lambda _w, _ctx, data, _info, _time: data.set_uris(uris))
button.connect("drag-end", lambda *_: Gtk.main_quit())
button.connect("drag-failed", lambda *_: Gtk.main_quit() or False)
window.add(button)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
