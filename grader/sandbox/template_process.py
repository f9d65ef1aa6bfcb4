"""A kernel template: a process that has imported ipykernel (and TensorFlow, where the notebooks import it) and
turns, by a fork per submission, into that submission's kernel inside its already started sandbox.

Started by the host (``grader/sandbox/kernel_template.py``) as root, with the sandbox's environment, before any
submission exists: it imports modules and then only ever reads requests, so a fork of it holds nothing of any
job, submission or grader secret.  Per request it forks a child that

1. leaves the supplementary groups of root, then joins the namespaces of the sandbox's first process (mount,
   PID, network, IPC, UTS, cgroup, and the user namespace last): its root, its files, its network are the
   sandbox's, and nothing of the host is reachable;
2. forks again (a PID namespace is entered by one's children), and exits: the kernel is a child of the
   sandbox's first process, as a kernel it had launched;
3. the kernel takes the first process's user and group, its resource limits and CPUs, drops every capability
   (bounding set included) and sets ``no_new_privs``, as bubblewrap does for the process it runs;
4. closes every descriptor but the kernel output pipe the runner sent, takes the launch's environment,
   working folder and command line, draws fresh random seeds, and runs ``ipykernel_launcher`` as
   ``python -m`` would.

Requests come on standard input, a Unix socket: one JSON line per request (``target``: the sandbox's first
process, as the host sees it, and ``uid``: the run's own user, which that process must have; ``cmd``, ``env``,
``cwd``: the kernel's launch) and the kernel's output pipe as an attached descriptor.  Each answer is one JSON
line: ``{"pid": N}`` (the kernel's PID inside the sandbox) or ``{"error": "..."}``.
"""
from __future__ import annotations

import atexit
import ctypes
import importlib
import json
import os
import resource
import runpy
import socket
import sys
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18
NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "cgroup", "user")  # the user namespace last: see the module
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_CAPSET = 126 if os.uname().machine == "x86_64" else 91  # x86_64, else aarch64
LIMIT_NAMES = {"Max cpu time": "CPU", "Max file size": "FSIZE", "Max data size": "DATA", "Max stack size": "STACK",
               "Max core file size": "CORE", "Max resident set": "RSS", "Max processes": "NPROC",
               "Max open files": "NOFILE", "Max locked memory": "MEMLOCK", "Max address space": "AS",
               "Max file locks": "LOCKS", "Max pending signals": "SIGPENDING", "Max msgqueue size": "MSGQUEUE",
               "Max nice priority": "NICE", "Max realtime priority": "RTPRIO", "Max realtime timeout": "RTTIME"}
MAX_REQUEST = 1 << 20
# What every kernel imports as it starts, imported once here: ipykernel's modules, and its debugger (with debugpy),
# which ``IPKernelApp.initialize`` imports where it can (0.07 core-s in each kernel before; the debugger is imported
# here where it can be too).  Only modules a launched kernel has imported before its first cell: a kernel forked
# from the template has the same ``sys.modules``.  After the imports the template collects its garbage once: the
# collector's counts are inherited by each fork, and imports leave enough objects pending that the fork's own start
# ran a full collection, walking every object TensorFlow made and copying the memory pages they are on (a forked
# kernel's start 0.06 core-s instead of 0.28).  ``gc.freeze()`` was measured too and saved no more: not used, as a
# student's ``gc.get_freeze_count()`` would see it.  Importing the rest of what a kernel's start imports (sqlite3,
# pdb, psutil...) saved nothing measurable.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel")  # without these the template is no use
KERNEL_START_IMPORTS = ("ipykernel.debugger",)  # where they can be imported
IMPORTS_LEFT: dict[str, Any] = {}  # what the template's imports changed: its environment, files in its home
TEMPLATE_FOLDER = "/"  # the template's working folder (the host starts it there)

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capability left, none to be gained: the bounding set emptied, then the ambient set and all three sets."""
    drop_bounding_set()
    drop_capability_sets()


def drop_bounding_set() -> None:
    """No capability to be had again (needs ``CAP_SETPCAP``: before a change of user takes it)."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the last capability this kernel has
                break
            _check(-1, f"dropping capability {cap}")


def drop_capability_sets() -> None:
    """The ambient, inheritable, permitted and effective sets emptied, ``no_new_privs`` set; raises ``OSError``
    where any capability is left."""
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient capabilities")
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.syscall(SYS_CAPSET, ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as status:
        left = [line for line in status if line.startswith(("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
                and int(line.split()[1], 16)]
    if left:
        raise OSError(f"capabilities left: {left}")


def sandbox_ids(target: int, expected_uid: int) -> tuple[int, int]:
    """The user and group of ``target``, once it is shown to be the sandbox's first process: the first process
    of a PID namespace of its own (not the host's), of the run's own user (a PID reused by another process is
    refused)."""
    fields: dict[str, list[str]] = {}
    with open(f"/proc/{target}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.split()
    uid, gid, nspid = fields.get("Uid", [""])[0], fields.get("Gid", [""])[0], fields.get("NSpid", [])
    if not uid.isdigit() or not gid.isdigit() or int(uid) != expected_uid or int(uid) == 0:
        raise OSError(f"process {target} is not of the sandbox's user")
    if len(nspid) < 2 or nspid[-1] != "1":
        raise OSError(f"process {target} is not the first of a sandbox")
    return int(uid), int(gid)


def _limits(target: int) -> dict[int, tuple[int, int]]:
    """A process's resource limits, read from /proc (``prlimit`` on another's process needs a capability root may
    lack in a container)."""
    found: dict[int, tuple[int, int]] = {}
    with open(f"/proc/{target}/limits") as table:
        for line in table:
            name = next((n for n in LIMIT_NAMES if line.startswith(n + " ")), None)
            if name is None or not hasattr(resource, "RLIMIT_" + LIMIT_NAMES[name]):
                continue
            soft, hard = line[len(name):].split()[:2]
            found[getattr(resource, "RLIMIT_" + LIMIT_NAMES[name])] = tuple(  # type: ignore[assignment]
                resource.RLIM_INFINITY if value == "unlimited" else int(value) for value in (soft, hard))
    if len(found) < 10:
        raise OSError(f"the limits of process {target} could not be read")
    return found


def drop_privileges(ids: tuple[int, int], limits: dict[int, tuple[int, int]], cpus: set[int]) -> None:
    """In the sandbox's namespaces already: take the sandbox's user, limits and CPUs, and drop every privilege."""
    uid, gid = ids
    address_space = limits.get(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)[0]
    if address_space != resource.RLIM_INFINITY and _virtual_bytes() > address_space // 2:
        raise OSError("the template takes half the sandbox's memory limit already: the kernel is launched")
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    for which, (soft, hard) in limits.items():
        resource.setrlimit(which, (soft, hard))
    os.sched_setaffinity(0, cpus)
    drop_capabilities()
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as any process of its user (the change of user cleared it)


def _virtual_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def become_kernel(request: dict[str, Any], output_fd: int, ready_fd: int) -> None:
    """Unprivileged, the sandbox's first process's child: take the launch's session, folder, descriptors,
    environment and command line, say so on ``ready_fd``, run the kernel, and exit as it does. Never returns."""
    os.setsid()
    os.chdir(request["cwd"])
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    close_descriptors(ready_fd)
    os.environ.clear()
    os.environ.update(request["env"])
    _leave_what_the_imports_left(os.environ.get("HOME", "/nonexistent"))
    _launch_defaults()
    _fresh_seeds()
    _look_launched(request["cmd"])
    for name in [name for name in sys.modules if name.split(".")[0] in ("grader", "setproctitle")]:
        del sys.modules[name]  # the template's own modules: a launched kernel has not imported them
    if sys.path and sys.path[0] == TEMPLATE_FOLDER:  # ``python -m`` puts its folder first: the kernel's is cwd
        sys.path[0] = request["cwd"]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()  # what the template's imports listed of the host's folders
    sys.orig_argv[:] = request["cmd"]
    sys.argv = [request["cmd"][0], *request["cmd"][3:]]
    platform = sys.modules.get("platform")
    if platform is not None:
        platform._uname_cache = None  # type: ignore[attr-defined]  # the template's: the host's name in it
    os.write(ready_fd, f"ok {os.getpid()}".encode())  # ready: only ipykernel's own start is left
    os.close(ready_fd)
    code = 0
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - as Python ends on an uncaught exception
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def close_descriptors(*keep: int) -> None:
    """Every descriptor but 0, 1, 2 and ``keep`` closed, whatever its number (the template's, and those the fork
    inherited: its socket to the host, the namespaces' handles)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor


def _launch_defaults() -> None:
    """What ipykernel read of its launch's environment when the template imported it (its parent, for the
    poller and the Ctrl-C notice), read again from the kernel's own."""
    from ipykernel.kernelapp import IPKernelApp

    traits = IPKernelApp.class_traits()
    traits["parent_handle"].default_value = int(os.environ.get("JPY_PARENT_PID") or 0)
    traits["interrupt"].default_value = int(os.environ.get("JPY_INTERRUPT_EVENT") or 0)


def _fresh_seeds() -> None:
    """A fresh kernel draws its seeds at start: so does each fork (Python's ``random`` reseeds itself at a fork;
    NumPy's global generator does not)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _look_launched(cmd: list[str]) -> None:
    """The process title a launched kernel has (its command line)."""
    try:
        from setproctitle import setproctitle

        setproctitle(" ".join(cmd))
    except ImportError:
        pass


def enter(request: dict[str, Any], output_fd: int) -> int:
    """Fork the kernel into the sandbox whose first process is ``request["target"]``; its PID there."""
    target, expected_uid = int(request["target"]), int(request["uid"])
    ids = sandbox_ids(target, expected_uid)
    limits = _limits(target)
    cpus = os.sched_getaffinity(target)
    handles: list[int] = []
    try:
        handles += [os.open(f"/proc/{target}/ns/{name}", os.O_RDONLY) for name in NAMESPACES]
        if sandbox_ids(target, expected_uid) != ids:  # still the same process once its namespaces are held
            raise OSError(f"process {target} changed")
    except BaseException:
        for handle in handles:
            os.close(handle)
        raise
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(report_read)
            os.setgroups([])
            for handle in handles:
                _check(_libc.setns(handle, 0), "setns")
            ready_read, ready_write = os.pipe()
            inside = os.fork()  # in the sandbox's PID namespace
            if inside == 0:
                try:
                    os.close(report_write)
                    os.close(ready_read)
                    drop_privileges(ids, limits, cpus)
                    if os.fork() == 0:  # orphaned at once: the sandbox's first process adopts it, as its kernel
                        become_kernel(request, output_fd, ready_write)
                    os._exit(0)
                finally:
                    os._exit(70)
            os.close(ready_write)
            with os.fdopen(ready_read, "rb") as ready:
                said = ready.read(64).split()
            os.waitpid(inside, 0)
            if len(said) != 2 or said[0] != b"ok":
                raise OSError("the kernel could not take the sandbox's user and limits")
            os.write(report_write, json.dumps({"pid": int(said[1])}).encode())
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001 - the answer says why; this child only ever exits
            try:
                os.write(report_write, json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500]}).encode())
            finally:
                os._exit(71)
    os.close(report_write)
    for handle in handles:
        os.close(handle)
    with os.fdopen(report_read, "rb") as answer:
        text = answer.read(4096)
    os.waitpid(child, 0)
    reply = json.loads(text or b'{"error": "the fork ended without an answer"}')
    if "pid" not in reply:
        raise OSError(reply.get("error", "no kernel"))
    return int(reply["pid"])


def serve(requests: socket.socket) -> None:
    """Answer requests until the host closes the socket."""
    buffer, fds = b"", []
    while True:
        data, more, _flags, _address = socket.recv_fds(requests, 65536, 4)
        fds += more
        if not data or len(buffer) + len(data) > MAX_REQUEST:
            return
        buffer += data
        if not buffer.endswith(b"\n"):
            continue
        line, buffer = buffer, b""
        try:
            if len(fds) != 1:
                raise OSError("a request brings exactly one descriptor, the kernel's output")
            reply: dict[str, Any] = {"pid": enter(json.loads(line), fds[0])}
        except Exception as exc:  # noqa: BLE001 - the host falls back to launching the kernel
            reply = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        finally:
            for fd in fds:
                os.close(fd)
            fds = []
        requests.sendall(json.dumps(reply).encode() + b"\n")


def _files_under(folder: str, most: int = 4 << 20) -> dict[str, bytes | None]:
    """The folders and files the imports wrote under ``folder`` (at most ``most`` bytes in all), by their
    relative path (a folder's content is None)."""
    found: dict[str, bytes | None] = {}  # None: a folder
    total = 0
    for root, dirs, files in os.walk(folder):
        found.update((os.path.relpath(os.path.join(root, name), folder), None) for name in dirs)
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            total += os.path.getsize(path)
            if total > most:
                return found
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def _leave_what_the_imports_left(home: str) -> None:
    """What the imports left behind in a launched kernel, left so in this one: the variables they set (TensorFlow
    sets ``TF2_BEHAVIOR`` and others) and the files they wrote in the home (Keras's ``keras.json``, Matplotlib's
    font cache), where the kernel has none yet."""
    os.environ.update(IMPORTS_LEFT.get("environ", {}))
    for relative, data in IMPORTS_LEFT.get("home", {}).items():
        path = os.path.join(home, relative)
        try:
            os.makedirs(path if data is None else os.path.dirname(path), exist_ok=True)
            if data is not None:
                with open(path, "xb") as handle:
                    handle.write(data)
        except OSError:
            continue


def private_home() -> None:
    """A home of the template's own, empty, at the sandbox's home path: what the imports write there (Keras its
    ``keras.json``, Matplotlib its caches) stays out of the host, and the paths they remember are the sandbox's."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount")
    _check(_libc.mount(b"tmpfs", b"/home", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64m,mode=755"), "mount /home")
    home = os.environ.get("HOME", "/home")
    if home.startswith("/home/"):
        os.makedirs(home, exist_ok=True)


def collect_garbage() -> None:
    """A full collection once the imports are done: not one due in every fork (see ``KERNEL_START_IMPORTS``).
    Without ``gc`` left in ``sys.modules`` where the imports had not put it there: a launched kernel has not."""
    imported = "gc" in sys.modules
    import gc

    gc.collect()
    if not imported:
        del sys.modules["gc"]


def main() -> int:
    """Import what the first line names (``{"imports": [...]}``), say ready, then serve requests."""
    private_home()
    requests = socket.socket(fileno=os.dup(0))
    os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    config = json.loads(requests.makefile("rb").readline() or b"{}")
    cpus = sorted(os.sched_getaffinity(0))[:max(1, int(config.get("cpus", 1)))]
    os.sched_setaffinity(0, cpus)  # as many as a sandbox has: libraries size their thread pools at import
    before = dict(os.environ)
    for module in KERNEL_MODULES:
        importlib.import_module(module)
    for module in (*KERNEL_START_IMPORTS, *config.get("imports", ())):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the kernel then imports it itself, and reports what it raised
            pass
    with open("/proc/self/maps") as maps:
        if any(len(fields) > 1 and fields[1][1] == "w" and fields[1][3] == "s" for fields in map(str.split, maps)):
            return 1  # memory shared writable with whatever it came from: its forks would share it too
    IMPORTS_LEFT["environ"] = {k: v for k, v in os.environ.items() if before.get(k) != v}
    IMPORTS_LEFT["home"] = _files_under(os.environ.get("HOME", "/nonexistent"))
    try:  # its set-up now, while the memory it takes over is the template's own command line and environment
        from setproctitle import getproctitle

        getproctitle()
    except ImportError:
        pass
    collect_garbage()
    requests.sendall(b'{"ready": true}\n')
    serve(requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
