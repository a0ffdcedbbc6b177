namespace LuaXmpp.Logging;

/// <summary>
/// A log file in Prosody's line layout that survives its disk: a write that fails (no space
/// left, the filesystem went read-only, the file was removed) drops the line and closes the
/// file; the next line after a short pause reopens it (appending), so logging resumes by itself
/// once the fault clears. Never throws into the caller: <see cref="LogManager"/> counts what was
/// lost. Thread-safe.
/// </summary>
public sealed class FileLogSink(LogLevel minLevel, string path, TimeProvider? time = null) : ILogSink
{
    private static readonly TimeSpan ReopenPause = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private StreamWriter? _writer;
    private DateTimeOffset _failedAt = DateTimeOffset.MinValue;

    public LogLevel MinLevel { get; } = minLevel;

    public string Path { get; } = path;

    /// <summary>Opens the file now, so a path that cannot be written is reported at startup.</summary>
    public void Open()
    {
        lock (_gate) _writer ??= OpenWriter();
    }

    public void Write(LogEntry entry)
    {
        var line = ConsoleLogSink.Format(entry);
        lock (_gate)
        {
            if (_writer is null)
            {
                if (_time.GetUtcNow() - _failedAt < ReopenPause) throw new IOException("log file unavailable since the last failed write");
                _writer = TryOpen();
                if (_writer is null) throw new IOException("log file cannot be reopened");
            }
            try
            {
                _writer.WriteLine(line);
                _writer.Flush();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Abandon();
                throw;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) Abandon();
    }

    private StreamWriter OpenWriter() => new(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096));

    private StreamWriter? TryOpen()
    {
        try
        {
            return OpenWriter();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _failedAt = _time.GetUtcNow();
            return null;
        }
    }

    // The writer's buffers may hold the line that failed; disposing would try to flush it and
    // fail again, so the stream is closed underneath, losing at most that line.
    private void Abandon()
    {
        _failedAt = _time.GetUtcNow();
        var writer = _writer;
        _writer = null;
        if (writer is null) return;
        try
        {
            writer.BaseStream.Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // FileStream.Dispose flushes its own buffer first; on a full disk that fails too.
        }
    }
}
