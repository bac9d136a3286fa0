#ifndef OCTOPROV_CLIBSSH2_SHIM_H
#define OCTOPROV_CLIBSSH2_SHIM_H

// Only SSHKit imports this module. libssh2's short names (libssh2_channel_open_session, …) are
// C macros Swift cannot import, so SSHKit calls the `_ex` functions directly.
#include <libssh2.h>
#include <libssh2_sftp.h>

#endif
