#!/bin/sh
# The image's entry point, run by tini: with YTDLP_UPGRADE_ON_START=true, first installs the
# newest yt-dlp, with its `default` extra, into the data volume (`offlinetube-api ytdlp update`,
# as POST /api/admin/ytdlp/update does; a failed update is said and the version in use kept),
# then runs the command given, in its place.
set -eu

if [ "${YTDLP_UPGRADE_ON_START:-false}" = "true" ]; then
    offlinetube-api ytdlp update >&2 || echo "WARNING starting with the yt-dlp in use" >&2
fi

exec "$@"
