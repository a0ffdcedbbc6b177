using LuaXmpp.Tests.Fixtures;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// A small tmpfs mounted by the test on a fresh temporary directory: a real filesystem that can
/// be filled to the last byte or remounted read-only. Needs root (CI runs the tests as root):
/// tests using it are <see cref="MountFactAttribute"/>s, skipped where mounting is not permitted.
/// </summary>
public sealed class TmpfsMount : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private TmpfsMount(string path, int sizeKib)
    {
        Path = path;
        SizeKib = sizeKib;
    }

    public string Path { get; }

    public int SizeKib { get; }

    public string FillerPath => System.IO.Path.Combine(Path, "filler");

    /// <summary>Mounts a tmpfs of <paramref name="sizeKib"/> KiB.</summary>
    public static async Task<TmpfsMount> CreateAsync(int sizeKib)
    {
        var path = Directory.CreateTempSubdirectory("luaxmpp-tmpfs-").FullName;
        var result = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={sizeKib}k,mode=0755", "tmpfs", path);
        if (result.ExitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs failed: {result}");
        }

        return new TmpfsMount(path, sizeKib);
    }

    /// <summary>Writes a filler file until the filesystem reports it is full; returns the bytes written.</summary>
    public long Fill()
    {
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        long written = 0;
        using var filler = new FileStream(FillerPath, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
        try
        {
            while (true)
            {
                filler.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full. Write what fits of a smaller piece, down to single bytes.
        }

        for (int size = chunk.Length / 2; size > 0; size /= 2)
        {
            try
            {
                while (true)
                {
                    filler.Write(chunk, 0, size);
                    written += size;
                }
            }
            catch (IOException)
            {
            }
        }

        return written;
    }

    public void FreeFiller() => File.Delete(FillerPath);

    /// <summary>Remounts read-only or read-write; the result says whether the kernel agreed (it refuses ro while files are open for writing).</summary>
    public Task<CommandResult> RemountAsync(bool readOnly) =>
        RunAsync("mount", "-o", readOnly ? "remount,ro" : "remount,rw", Path);

    private static Task<CommandResult> RunAsync(params string[] command) =>
        ChildProcess.RunAsync(command[0], command[1..], "/", CommandTimeout);

    public async ValueTask DisposeAsync()
    {
        var result = await RunAsync("umount", Path);
        if (result.ExitCode != 0)
        {
            // Something still holds a file: detach now, the kernel frees it when the holder closes it.
            await RunAsync("umount", "-l", Path);
        }

        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}
