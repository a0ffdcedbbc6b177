using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// lfs (LuaFileSystem), the part module files call: attributes, dir, mkdir, rmdir, touch,
/// currentdir. Failures are <c>nil, message</c> as in LuaFileSystem; the shim turns dir's list
/// into an iterator.
/// </summary>
internal sealed class FileSystemLibrary : INativeLibrary
{
    private static readonly LuaFunction AttributesFn = Attributes;
    private static readonly LuaFunction ListFn = List;
    private static readonly LuaFunction MkdirFn = Mkdir;
    private static readonly LuaFunction RmdirFn = Rmdir;
    private static readonly LuaFunction TouchFn = Touch;
    private static readonly LuaFunction CurrentDirFn = CurrentDir;

    public string Name => "lfs";

    public IReadOnlyList<NativeFunction> Functions { get; } =
    [
        new("attributes", AttributesFn), new("list", ListFn), new("mkdir", MkdirFn),
        new("rmdir", RmdirFn), new("touch", TouchFn), new("currentdir", CurrentDirFn),
    ];

    public string Shim => """
        local raw = ...
        local function need_path(p, fname)
          if type(p) ~= "string" then
            error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(p)), 3)
          end
        end
        local lfs = { _VERSION = "LuaFileSystem (LuaXmpp)" }
        function lfs.attributes(path, request)
          need_path(path, "attributes")
          local attr, err = raw.attributes(path)
          if not attr then return nil, err, 2 end
          if type(request) == "string" then return attr[request] end
          if type(request) == "table" then
            for k, v in pairs(attr) do request[k] = v end
            return request
          end
          return attr
        end
        lfs.symlinkattributes = lfs.attributes
        function lfs.dir(path)
          need_path(path, "dir")
          local names, err = raw.list(path)
          if not names then error(("cannot open %s: %s"):format(path, err), 2) end
          local i, closed = 0, false
          local dirobj = {}
          function dirobj:next()
            if closed then return nil end
            i = i + 1
            return names[i]
          end
          function dirobj:close() closed = true end
          return function() return dirobj:next() end, dirobj
        end
        function lfs.mkdir(path) need_path(path, "mkdir"); return raw.mkdir(path) end
        function lfs.rmdir(path) need_path(path, "rmdir"); return raw.rmdir(path) end
        function lfs.touch(path, atime, mtime)
          need_path(path, "touch")
          return raw.touch(path, tonumber(atime), tonumber(mtime or atime))
        end
        function lfs.currentdir() return raw.currentdir() end
        return lfs
        """;

    private static int Attributes(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.ToString(1);
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists) return NativeBoundary.Fail(lua, path + ": No such file or directory");
        lua.CreateTable(0, 8);
        NativeBoundary.SetString(lua, "mode", info is DirectoryInfo ? "directory" : "file");
        NativeBoundary.SetInteger(lua, "size", info is FileInfo file ? file.Length : 4096);
        NativeBoundary.SetInteger(lua, "modification", info.LastWriteTimeUtc.ToUnixSeconds());
        NativeBoundary.SetInteger(lua, "access", info.LastAccessTimeUtc.ToUnixSeconds());
        NativeBoundary.SetInteger(lua, "change", info.LastWriteTimeUtc.ToUnixSeconds());
        NativeBoundary.SetInteger(lua, "nlink", 1);
        NativeBoundary.SetString(lua, "permissions", Permissions(info));
        return 1;
    });

    private static int List(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.ToString(1);
        if (!Directory.Exists(path)) return NativeBoundary.Fail(lua, "No such file or directory");
        var entries = Directory.GetFileSystemEntries(path);
        lua.CreateTable(entries.Length + 2, 0);
        lua.PushString(".");
        lua.RawSetInteger(-2, 1);
        lua.PushString("..");
        lua.RawSetInteger(-2, 2);
        for (int i = 0; i < entries.Length; i++)
        {
            NativeBoundary.PushUtf8(lua, Path.GetFileName(entries[i]));
            lua.RawSetInteger(-2, i + 3);
        }
        return 1;
    });

    private static int Mkdir(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.ToString(1);
        if (Path.Exists(path)) return NativeBoundary.Fail(lua, "File exists");
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null && !Directory.Exists(parent)) return NativeBoundary.Fail(lua, "No such file or directory");
        Directory.CreateDirectory(path);
        lua.PushBoolean(true);
        return 1;
    });

    private static int Rmdir(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.ToString(1);
        if (!Directory.Exists(path)) return NativeBoundary.Fail(lua, "No such file or directory");
        if (Directory.EnumerateFileSystemEntries(path).Any()) return NativeBoundary.Fail(lua, "Directory not empty");
        Directory.Delete(path);
        lua.PushBoolean(true);
        return 1;
    });

    private static int Touch(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var path = lua.ToString(1);
        if (!Path.Exists(path)) return NativeBoundary.Fail(lua, "No such file or directory");
        var now = DateTime.UtcNow;
        var atime = lua.Type(2) == LuaType.Number ? DateTime.UnixEpoch.AddSeconds(lua.ToNumber(2)) : now;
        var mtime = lua.Type(3) == LuaType.Number ? DateTime.UnixEpoch.AddSeconds(lua.ToNumber(3)) : atime;
        File.SetLastAccessTimeUtc(path, atime);
        File.SetLastWriteTimeUtc(path, mtime);
        lua.PushBoolean(true);
        return 1;
    });

    private static int CurrentDir(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        NativeBoundary.PushUtf8(lua, Directory.GetCurrentDirectory());
        return 1;
    });

    // "rwxr-x---" as LuaFileSystem writes it.
    private static string Permissions(FileSystemInfo info)
    {
        if (OperatingSystem.IsWindows()) return "rw-rw-rw-";
        var mode = info.UnixFileMode;
        Span<char> text = stackalloc char[9];
        UnixFileMode[] bits =
        [
            UnixFileMode.UserRead, UnixFileMode.UserWrite, UnixFileMode.UserExecute,
            UnixFileMode.GroupRead, UnixFileMode.GroupWrite, UnixFileMode.GroupExecute,
            UnixFileMode.OtherRead, UnixFileMode.OtherWrite, UnixFileMode.OtherExecute,
        ];
        for (int i = 0; i < 9; i++) text[i] = mode.HasFlag(bits[i]) ? "rwx"[i % 3] : '-';
        return new string(text);
    }
}

internal static class UnixSecondsExtensions
{
    public static long ToUnixSeconds(this DateTime utc) => (long)(utc - DateTime.UnixEpoch).TotalSeconds;
}
