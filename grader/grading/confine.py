"""What a checks' child does to itself before it reads a submission's evidence, as root: namespaces, mounts, the
evidence made readable to its group, its descriptors, its user and capabilities, its limits.

``grader/grading/apart.py`` says when and in what order; this module, how each step is done.
"""
from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import stat
import sys
from pathlib import Path

from grader.sandbox.template_process import close_descriptors, drop_bounding_set, drop_capability_sets

CHILD_PROCESSES = 1024  # processes and threads of a child's user (TensorFlow's threads count)
SCRATCH_MB = 2048  # a child's scratch tmpfs: a model's files extracted (within their own limits), Keras's temporaries
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = ("mount", "IPC", "PID", "network")
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
SYS_MOUNT_SETATTR = 442  # the same number on every architecture Linux numbers its calls alike for (x86_64, arm64)
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(OSError):
    """A child could not give up what it must before it reads a student's files: it reads none of them."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfinementError(errno, f"{what}: {os.strerror(errno)}")


def closed_to_others(paths: list[str]) -> list[str]:
    """Those of ``paths`` (folders) another user cannot read: the folder, or one on its way, lacks the permission
    bits for others (read and search for the folder, search on the way)."""
    closed = []
    for path in paths:
        folder = Path(path).resolve()
        if not folder.is_dir():
            continue
        try:
            ok = all(os.stat(up).st_mode & stat.S_IXOTH for up in (folder, *folder.parents)) \
                and os.stat(folder).st_mode & stat.S_IROTH
        except OSError:
            ok = False
        if not ok:
            closed.append(str(folder))
    return closed


LATE_IMPORTS = ("grader", "numpy", "h5py", "keras", "tensorflow")  # what the checks may still import from


def import_folders() -> list[str]:
    """The folders the checks may still import from: the standard library's and those of the packages they use."""
    folders = {os.path.dirname(os.__file__)}
    for name in LATE_IMPORTS:
        module = sys.modules.get(name)
        for folder in getattr(module, "__path__", None) or ():
            folders.add(folder)
    return sorted(folders)


HIDDEN = ("/home", "/root", "/srv", "/var", "/run", "/mnt", "/media", "/opt", "/tmp", "/boot")  # an empty folder
# in a child's mount namespace, unless the checks import from it: people's files, services' sockets, batches
SCRATCH = "/dev/shm"  # where a child's scratch tmpfs goes in its mount namespace (covering the host's)


def private_mounts(uid: int | None) -> str:
    """In a mount namespace of its own: ``HIDDEN`` folders empty, every file system read-only, its own ``/proc``
    (its PID namespace's), and a tmpfs of its own on ``SCRATCH``, which it returns."""
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "private mounts")
    needed = [Path(folder) for folder in import_folders() + [sys.prefix, sys.exec_prefix, os.path.dirname(
        os.path.realpath(sys.executable))]]
    for folder in HIDDEN:
        if os.path.isdir(folder) and not os.path.islink(folder) and not any(
                path.is_relative_to(folder) or path.resolve().is_relative_to(folder) for path in needed):
            _check(_libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               b"size=4k,mode=0755"), f"hiding {folder}")
    _read_only_everywhere()
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
           "a /proc of its own")
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    _check(_libc.mount(b"tmpfs", SCRATCH.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                       f"size={SCRATCH_MB}m,mode=0700{owner}".encode()), "a scratch folder of its own")
    return SCRATCH


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _read_only_everywhere() -> None:
    """Every mount read-only: at once (``mount_setattr``, Linux 5.12), else one by one (keeping each one's
    ``nosuid``, ``nodev``, ``noexec``; a mount another covers is left, unreachable)."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    if _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                     ctypes.sizeof(attr)) == 0:
        return
    with open("/proc/self/mountinfo") as table:
        mounts = [(_unescape(fields[4]), fields[5].split(",")) for fields in (line.split() for line in table)]
    for point, options in mounts:
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for name, flag in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC)):
            if name in options:
                flags |= flag
        if _libc.mount(None, point.encode(), None, flags, None) != 0 and ctypes.get_errno() not in (2, 13, 22):
            _check(-1, f"{point} read-only")


def _unescape(field: str) -> str:
    """A mount point as ``/proc/self/mountinfo`` writes it (space, tab, newline and backslash as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def keep_only_descriptors(*keep: int) -> None:
    """Nothing of the checker's channels: standard input from /dev/null (the host's requests stay the checker's),
    every descriptor closed but 1 and 2 (its messages' pipe by now) and ``keep`` (the answers channel and the
    checker's log among those closed)."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    close_descriptors(*keep)


def readable_by(folder_fd: int, gid: int) -> None:
    """The child's group may read the evidence folder and the files in it, which stay root's: the host's copies,
    made by names it chose; anything else there (a link, a file with other links, one of another owner) is left
    as it is, and unread."""
    owner = os.geteuid()
    os.fchown(folder_fd, -1, gid)
    os.fchmod(folder_fd, stat.S_IMODE(os.fstat(folder_fd).st_mode) | 0o050)
    for _, _, files, root_fd in os.fwalk(".", dir_fd=folder_fd, follow_symlinks=False):
        os.fchown(root_fd, -1, gid)
        os.fchmod(root_fd, stat.S_IMODE(os.fstat(root_fd).st_mode) | 0o050)
        for name in files:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=root_fd)
            except OSError:
                continue  # a link: not a file the checks read
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == owner:
                    os.fchown(fd, -1, gid)
                    os.fchmod(fd, stat.S_IMODE(info.st_mode) | 0o040)
            finally:
                os.close(fd)


def become(uid: int) -> None:
    """As root: ``uid`` and its group, no supplementary group, no capability, none to be gained."""
    try:
        drop_bounding_set()
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        drop_capability_sets()  # (the inheritable and ambient sets outlive a change of user)
    except OSError as exc:
        raise ConfinementError(exc.errno, f"becoming user {uid}: {exc.strerror or exc}") from None
    if os.getuid() == 0 or os.getgid() == 0 or os.getgroups():
        raise ConfinementError(f"privileges left: user {os.getuid()}, group {os.getgid()}, {os.getgroups()}")


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL when the parent ends (set again after a change of user, which clears it); exit now where
    ``parent`` is given and is no longer the parent."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent death signal")
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def unshare_namespaces() -> None:
    """As root: mount, IPC, PID (for the children) and network namespaces of its own."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET),
           f"{', '.join(NAMESPACES)} namespaces of its own")


def limit_resources(own_user: bool) -> None:
    """No core file; and, for a user of its own, at most ``CHILD_PROCESSES`` processes and threads."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if own_user:
        resource.setrlimit(resource.RLIMIT_NPROC, (CHILD_PROCESSES, CHILD_PROCESSES))
