using System.Text;
using LuaXmpp.Logging;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// Reading and writing the files of the "internal" driver. A write goes to <c>FILE~</c> (the
/// scratch name util.datamanager uses), is fsynced, then renamed over the file, so a reader or a
/// crash sees the old content or the new, never a mix. I/O failures become
/// <see cref="StorageException"/>s, logged once per burst; a file that is not Prosody data is
/// refused (and left alone) with a line naming it.
/// </summary>
internal static class DataFiles
{
    /// <summary>Prosody keeps a user's keyval data in one file; anything this big is not that.</summary>
    public const long MaxDatBytes = 64L << 20;

    /// <summary>An archive file is read whole to index it; beyond this it is refused rather than exhaust memory.</summary>
    public const long MaxListBytes = 1L << 30;

    /// <summary>Prosody runs with umask 027: its data is not readable by others (password hashes live here).</summary>
    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_000;
    private const UnixFileMode FileModeBits = (UnixFileMode)0b110_100_000;

    private static readonly Logger Log = Logger.For("storage_internal");
    private static readonly object ReportGate = new();
    private static readonly HashSet<string> Reported = new();

    /// <summary>The bytes of a file, or null when it does not exist.</summary>
    public static byte[]? ReadAll(string path, long limit)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > limit) throw Refuse(path, $"{stream.Length} bytes, more than the {limit} this driver reads");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            Recovered(path);
            return bytes;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Failed(path, "read", ex);
        }
    }

    /// <summary>Replaces a file atomically (scratch file, fsync, rename), creating its directory.</summary>
    public static void WriteAtomically(string path, string text) => WriteAtomically(path, Encoding.UTF8.GetBytes(text));

    public static void WriteAtomically(string path, byte[] bytes)
    {
        string scratch = path + "~";
        try
        {
            CreateDirectory(path);
            using (var stream = new FileStream(scratch, Options(FileMode.Create)))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(scratch, path, overwrite: true);
            Recovered(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(scratch);
            throw Failed(path, "write", ex);
        }
    }

    /// <summary>Appends text at <paramref name="offset"/> (cutting off anything after it first: a torn item); returns the new length.</summary>
    public static long Append(string path, long offset, string text, bool durable)
    {
        try
        {
            CreateDirectory(path);
            using var stream = new FileStream(path, Options(FileMode.OpenOrCreate));
            if (stream.Length != offset) stream.SetLength(offset);
            stream.Position = offset;
            try
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: durable);
            }
            catch (IOException)
            {
                // Leave no half item behind (disk full): the file stays as it was.
                stream.SetLength(offset);
                throw;
            }
            Recovered(path);
            return stream.Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Failed(path, "write", ex);
        }
    }

    private static void CreateDirectory(string file)
    {
        var dir = Path.GetDirectoryName(file)!;
        if (Directory.Exists(dir)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else Directory.CreateDirectory(dir, DirectoryMode);
    }

    private static FileStreamOptions Options(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileModeBits;
        return options;
    }

    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Failed(path, "delete", ex);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.Debug($"Could not remove {path}: {ex.Message}");
        }
    }

    /// <summary>A file that is not data: one error line naming it, and the operation fails.</summary>
    public static StorageException Refuse(string path, string why)
    {
        if (Report("refused:" + path)) Log.Error($"Refusing to load {path}: {why}. The file is not data as Prosody writes it; it is left untouched and reads of it fail until it is fixed or removed");
        return new StorageException(StorageFailure.Unavailable, $"Cannot load {path}: {why}");
    }

    private static StorageException Failed(string path, string operation, Exception error)
    {
        var failure = Classify(error);
        if (Report(path)) Log.Error($"Storage {operation} failing on {path}: {error.Message}; check the file, its directory and filesystem (permissions, space); storage recovers by itself");
        return new StorageException(failure, $"Storage {operation} failed on {path}: {error.Message}", error);
    }

    /// <summary>ENOSPC and EROFS carry their errno in the HResult's low bits on Unix.</summary>
    private static StorageFailure Classify(Exception error) => error switch
    {
        UnauthorizedAccessException => StorageFailure.ReadOnly,
        IOException io when (io.HResult & 0xffff) is 28 or 122 => StorageFailure.Full,
        IOException io when (io.HResult & 0xffff) == 30 => StorageFailure.ReadOnly,
        _ => StorageFailure.Unavailable,
    };

    private static bool Report(string path)
    {
        lock (ReportGate) return Reported.Add(path);
    }

    private static void Recovered(string path)
    {
        bool was;
        lock (ReportGate) was = Reported.Count > 0 && Reported.Remove(path);
        if (was) Log.Info($"Storage works again on {path}");
    }
}
