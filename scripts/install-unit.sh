#!/bin/sh
# Installs resweepd's systemd user unit where `systemctl --user` looks,
# and says what to run next (make install calls it).
#   scripts/install-unit.sh UNIT DESTDIR USERUNITDIR
# Root (or a staged DESTDIR install): USERUNITDIR, which is on every
# user's unit path (/usr/local/lib/systemd/user for PREFIX=/usr/local).
# Otherwise: ~/.config/systemd/user, plus ~/.config/resweep/resweepd.env
# from the example when there is none yet.
set -eu
unit=$1 destdir=$2 userunitdir=$3
env_example=contrib/systemd/resweepd.env
if [ "$(id -u)" -eq 0 ] || [ -n "$destdir" ]; then
    install -d "$destdir$userunitdir"
    install -m 0644 "$unit" "$destdir$userunitdir/"
    echo "installed the user unit $userunitdir/resweepd.service for every user."
    echo "next, as the user who runs sweeps (not root):"
else
    confdir=${XDG_CONFIG_HOME:-$HOME/.config}
    install -d "$confdir/systemd/user" "$confdir/resweep"
    install -m 0644 "$unit" "$confdir/systemd/user/"
    if [ ! -e "$confdir/resweep/resweepd.env" ]; then
        install -m 0644 "$env_example" "$confdir/resweep/resweepd.env"
    fi
    echo "installed the user unit $confdir/systemd/user/resweepd.service."
    echo "next:"
fi
echo "  systemctl --user daemon-reload"
echo "  systemctl --user enable --now resweepd"
echo "  loginctl enable-linger \"\$USER\"    # keep it running after logout"
echo "settings (database, socket, workers): ~/.config/resweep/resweepd.env"
echo "(example: ${DATADIR_HINT:-the installed share/resweep/systemd/resweepd.env})"
