#!/bin/sh
# loraedge .deb post-install: a system user, the state directory, and an
# admin token for the web page on first install. Config files are dpkg
# conffiles and are kept on upgrade.
set -e
if ! getent passwd loraedge >/dev/null; then
	adduser --system --group --home /var/lib/loraedge --no-create-home loraedge >/dev/null
fi
install -d -o loraedge -g loraedge -m 0750 /var/lib/loraedge
if [ ! -f /etc/loraedge/loraedge.env ]; then
	umask 077
	token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf 'LORAEDGE_HTTP_ADMIN_TOKEN=%s\n' "$token" > /etc/loraedge/loraedge.env
	chown root:loraedge /etc/loraedge/loraedge.env
	chmod 0640 /etc/loraedge/loraedge.env
	echo "loraedge: admin token for the web page written to /etc/loraedge/loraedge.env"
fi
chown root:loraedge /etc/loraedge/loraedge.yaml
chmod 0640 /etc/loraedge/loraedge.yaml
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	systemctl enable loraedge.service >/dev/null || true
	systemctl try-restart loraedge.service >/dev/null || true
fi
