/* paths.h — where resweepd and resweep find the socket and the database.
 *
 * One place for the defaults, so the daemon and the CLI always agree
 * (issue 3):
 *   socket: $RESWEEP_SOCKET, else $XDG_RUNTIME_DIR/resweep/resweepd.sock,
 *           else /tmp/resweep-$UID/resweepd.sock
 *   db:     $RESWEEP_DB, else $XDG_DATA_HOME/resweep/resweep.db,
 *           else $HOME/.local/share/resweep/resweep.db
 * Empty environment variables count as unset. Every function writes into a
 * caller buffer and returns 0, or a negative code with a sentence.
 * (This header shadows glibc's <paths.h> under -Iinclude; only <utmp.h>,
 * <mntent.h> and <shadow.h> include that one, and resweep uses none.)
 */
#ifndef RESWEEP_PATHS_H
#define RESWEEP_PATHS_H

#include <stddef.h>
#include <sys/types.h>

/* Longest socket path a sockaddr_un holds (sun_path less the NUL). */
#define PATHS_SOCKET_MAX 107
#define PATHS_MAX 4096

int paths_default_socket(char *buf, size_t len, char *err, size_t errlen);
int paths_default_db(char *buf, size_t len, char *err, size_t errlen);

/* The directory part of path ("." when it has none), into buf. */
int paths_dirname(const char *path, char *buf, size_t len);

/* Creates dir and its missing parents with mode (existing ones are left
 * as they are). */
int paths_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen);

/* The directory that holds a socket (tmux's rule): created 0700 if
 * missing; refused unless it is a directory owned by this uid with no
 * group or other permissions, so no other user can reach the socket or
 * swap it. */
int paths_private_dir(const char *dir, char *err, size_t errlen);

#endif
