using System.Diagnostics;
using System.Text;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// Drives the stanza fuzzer against a running server: four authenticated sessions (two accounts
/// share one so carbons and multi-resource paths run; two with XEP-0198 on) take the inputs, each
/// followed by a ping whose answer proves the input was handled; an input that is not one clean
/// element is followed by &lt;/stream:stream&gt; and must end in exactly one known stream error or a
/// clean close. Every batch: a control session's ping, the process still alive, no bug-tier line in
/// the log (a hit is replayed input by input to find the culprit), resident memory bounded.
/// </summary>
public sealed class StanzaFuzzDriver(StanzaFuzzTarget target, StanzaFuzzOptions options) : IFuzzAddressBook, IAsyncDisposable
{
    public const string Password = "secret";

    private const string Closer = "</stream:stream>";

    // RFC 6120 §4.9.3.
    private static readonly HashSet<string> KnownConditions =
    [
        "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone", "host-unknown", "improper-addressing",
        "internal-server-error", "invalid-from", "invalid-namespace", "invalid-xml", "not-authorized", "not-well-formed",
        "policy-violation", "remote-connection-failed", "reset", "resource-constraint", "restricted-xml", "see-other-host",
        "system-shutdown", "undefined-condition", "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type",
        "unsupported-version",
    ];

    private readonly StanzaInputFactory _factory = new(options.Seed);
    private readonly StanzaFuzzReport _report = new();
    private readonly ServerLogScanner _log = new(target.LogPath);
    private readonly Queue<StanzaFuzzInput> _retry = new();
    private readonly List<FuzzSlot> _slots = [];
    private readonly FuzzUser _controlUser = new("fzctl");
    private FuzzConnection? _control;
    private long _pings;
    private bool _stopped;
    private bool _memoryReported;

    public string Host => target.Host;

    public int SlotCount => _slots.Count;

    public string FullJid(int slot) => _slots[slot].FullJid;

    public string User(int slot) => _slots[slot].User.Name;

    public string? SmId(int slot) => _slots[slot].Connection?.SmId;

    public async Task<StanzaFuzzReport> RunAsync()
    {
        var clock = Stopwatch.StartNew();
        var shared = new FuzzUser("fza");
        _slots.Add(new FuzzSlot(0, shared, "phone", smacks: true, Host));
        _slots.Add(new FuzzSlot(1, shared, "desktop", smacks: false, Host));
        _slots.Add(new FuzzSlot(2, new FuzzUser("fzb"), "gajim", smacks: true, Host));
        _slots.Add(new FuzzSlot(3, new FuzzUser("fzc"), "slixmpp", smacks: false, Host));
        _control = await LoginAsync(_controlUser, "control", smacks: false, blame: []);
        foreach (var slot in _slots) await EnsureConnectedAsync(slot);
        _report.Reconnects = 0;
        _report.RssStartKib = _report.RssPeakKib = target.RssKib();

        var batch = new List<StanzaFuzzInput>();
        for (long index = options.First; index <= options.Last && !_stopped; index++)
        {
            if (options.MaxSeconds is { } max && clock.Elapsed.TotalSeconds > max) break;
            var input = _factory.Make(index, this);
            await RunInputAsync(input);
            while (_retry.TryDequeue(out var again)) await RunInputAsync(again);
            _report.Inputs++;
            batch.Add(input);
            if (batch.Count >= options.BatchSize)
            {
                await SettleAsync(batch);
                batch.Clear();
            }
            if (_report.Inputs % 10_000 == 0) options.Progress?.Invoke($"... {_report.Inputs} inputs, {clock.Elapsed.TotalSeconds:F0} s, RSS {target.RssKib() / 1024} MiB, findings {_report.Findings.Count}");
        }
        if (!_stopped) await SettleAsync(batch);
        _report.RssEndKib = target.RssKib();
        _report.Elapsed = clock.Elapsed;
        return _report;
    }

    private async Task RunInputAsync(StanzaFuzzInput input)
    {
        if (input.PreAuth)
        {
            await RunOnNewStreamAsync(input);
            return;
        }
        var slot = _slots[input.Slot];
        if (input.NeedsCloser)
        {
            await DrainAsync(slot);
            if (await EnsureConnectedAsync(slot) is not { } connection) return;
            MarkSuspect(slot, input);
            await connection.SendAsync([.. input.Bytes, .. Encoding.UTF8.GetBytes(Closer)]);
            await EndAsync(slot, connection, input, acceptClean: true);
            return;
        }
        while (slot.PendingCount >= options.Window) await WaitProgressAsync(slot);
        if (await EnsureConnectedAsync(slot) is not { } conn) return;
        MarkSuspect(slot, input);
        string pingId = "fzp-" + Interlocked.Increment(ref _pings);
        // XEP-0352: an inactive session may hold the ping's answer back; make it active again first.
        string after = (Contains(input.Bytes, "inactive") ? "<active xmlns='urn:xmpp:csi:0'/>" : "") +
            $"<iq type='get' id='{pingId}' to='{Host}'><ping xmlns='urn:xmpp:ping'/></iq>";
        slot.AddPending(input, pingId);
        await conn.SendAsync([.. input.Bytes, .. Encoding.UTF8.GetBytes(after)]);
    }

    /// <summary>A new unauthenticated stream: the input, then our closing tag; the server must end it properly.</summary>
    private async Task RunOnNewStreamAsync(StanzaFuzzInput input)
    {
        var connection = await FuzzConnection.ConnectAsync(target.Port);
        try
        {
            await connection.SendAsync([.. input.Bytes, .. Encoding.UTF8.GetBytes(Closer)]);
            if (!await EndedAsync(connection))
            {
                Find("hang", $"new stream not ended {options.HangTimeout.TotalSeconds} s after the client's </stream:stream>", [input]);
                return;
            }
            Judge(connection, [input], acceptClean: true, prefix: "preauth-");
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>After an input followed by our closing tag: the stream must end, and end properly.</summary>
    private async Task EndAsync(FuzzSlot slot, FuzzConnection connection, StanzaFuzzInput input, bool acceptClean)
    {
        if (!await EndedAsync(connection))
        {
            Find("hang", $"session {slot.Index} not ended {options.HangTimeout.TotalSeconds} s after the client's </stream:stream>", [input]);
            _report.Count("hang");
        }
        else Judge(connection, [input], acceptClean, prefix: "");
        slot.Detach();
        await connection.DisposeAsync();
    }

    /// <summary>
    /// Waits for the server to end a stream we closed. A CDATA section (allowed in XMPP, RFC 6120 §11.1) or an
    /// unterminated XML declaration, PI or comment legitimately swallows our closing tag while the server waits
    /// for its end, so after a short wait we send the terminators of all of them and the closing tag again.
    /// </summary>
    private async Task<bool> EndedAsync(FuzzConnection connection)
    {
        var ended = connection.Ended;
        if (await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(2))) == ended) return true;
        _report.Count("second-closer");
        await connection.SendAsync("]]>?>-->" + Closer);
        return await Task.WhenAny(ended, Task.Delay(options.HangTimeout)) == ended;
    }

    /// <summary>How a stream the server ended must look: exactly one stream error with a defined
    /// condition (RFC 6120 §4.9.3) then &lt;/stream:stream&gt;, or, after the client's own closing
    /// tag, just &lt;/stream:stream&gt;. The server's output must have parsed throughout.</summary>
    private void Judge(FuzzConnection connection, IReadOnlyList<StanzaFuzzInput> blame, bool acceptClean, string prefix)
    {
        if (connection.Malformed is { } malformed) Find("malformed-output", malformed, blame);
        var errors = connection.StreamErrors;
        if (errors.Count == 1 && KnownConditions.Contains(errors[0]) && connection.StreamClosed)
        {
            _report.Count($"{prefix}stream-error:{errors[0]}");
            if (errors[0] == "internal-server-error") Find("internal-server-error", "stream closed with internal-server-error", blame);
        }
        else if (errors.Count == 0 && connection.StreamClosed && acceptClean) _report.Count($"{prefix}clean-close");
        else if (errors.Count == 0 && connection.SawProceed) _report.Count($"{prefix}starttls-proceed");
        else if (errors.Count == 0 && connection.SawTlsFailure && connection.StreamClosed) _report.Count($"{prefix}starttls-failure");
        // Known issue, counted rather than failed: the server closes the socket right after its stream error while
        // our pipelined input is still unread in its receive buffer; the kernel then sends RST instead of FIN and
        // may discard the stream error before this client reads it (RFC 6120 §4.4 asks the closing side to wait
        // for the peer's closing tag; a lingering close would fix it).
        else if (errors.Count == 0 && !connection.StreamClosed && connection.Reset) _report.Count($"{prefix}reset-before-stream-error");
        else
        {
            Find("bad-close", $"stream ended with {errors.Count} stream error(s) [{string.Join(", ", errors)}], " +
                $"</stream:stream> {(connection.StreamClosed ? "received" : "missing")}", blame);
        }
    }

    /// <summary>Waits a little for answers on <paramref name="slot"/>; notices a closed connection or a hang.</summary>
    private async Task WaitProgressAsync(FuzzSlot slot)
    {
        if (slot.Connection is not { } connection) return;
        if (connection.TcpClosed || connection.SawProceed)
        {
            await OnUnexpectedCloseAsync(slot, connection);
            return;
        }
        if (slot.OldestSent is { } sent && DateTime.UtcNow - sent > options.HangTimeout)
        {
            var pending = slot.Detach();
            Find("hang", $"session {slot.Index}: no answer to the ping after an input within {options.HangTimeout.TotalSeconds} s", pending);
            _report.Count("hang");
            await connection.DisposeAsync();
            return;
        }
        await slot.Progress.WaitAsync(TimeSpan.FromMilliseconds(200));
    }

    private async Task DrainAsync(FuzzSlot slot)
    {
        while (slot.Connection is { } connection && (slot.PendingCount > 0 || connection.TcpClosed || connection.SawProceed)) await WaitProgressAsync(slot);
    }

    /// <summary>The server ended a session we were still feeding: the oldest unanswered input is the one it
    /// stopped at (input is handled in order); the ones after it never got a chance and are sent again.</summary>
    private async Task OnUnexpectedCloseAsync(FuzzSlot slot, FuzzConnection connection)
    {
        var pending = slot.Detach();
        Judge(connection, pending.Take(1).ToList(), acceptClean: false, prefix: pending.Count == 0 ? "idle-" : "");
        foreach (var input in pending.Skip(1)) _retry.Enqueue(input);
        _report.Resent += Math.Max(0, pending.Count - 1);
        await connection.DisposeAsync();
    }

    private async Task<FuzzConnection?> EnsureConnectedAsync(FuzzSlot slot)
    {
        if (slot.Connection is { } current)
        {
            if (!current.TcpClosed && !current.SawProceed) return current;
            await OnUnexpectedCloseAsync(slot, current);
        }
        var connection = await LoginAsync(slot.User, slot.Resource, slot.Smacks, blame: []);
        if (connection is null) return null;
        _report.Reconnects++;
        slot.Attach(connection, _report);
        return connection;
    }

    /// <summary>Logs in as <paramref name="user"/> (registering it first if needed); a login that fails twice is a finding.</summary>
    private async Task<FuzzConnection?> LoginAsync(FuzzUser user, string resource, bool smacks, IReadOnlyList<StanzaFuzzInput> blame)
    {
        if (user.Suspect) user.NextGeneration();
        string? failure = null;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            var connection = await FuzzConnection.ConnectAsync(target.Port);
            failure = await connection.LoginAsync(Host, user.Name, Password, resource, register: !user.Registered, smacks, options.HangTimeout);
            if (failure is null)
            {
                user.Registered = true;
                return connection;
            }
            await connection.DisposeAsync();
            user.NextGeneration();
        }
        Find("login", $"cannot log in as {user.Name}: {failure}", blame);
        return null;
    }

    /// <summary>The whole-server checks after a batch.</summary>
    private async Task SettleAsync(List<StanzaFuzzInput> batch)
    {
        foreach (var slot in _slots) await DrainAsync(slot);
        await CheckControlAsync(batch);
        if (target.ExitCode() is { } code)
        {
            Find("crash", $"server process exited with code {code}", batch);
            _stopped = true;
            return;
        }
        var bugs = _log.Scan();
        if (bugs.Count > 0) await ReportLogAsync(bugs, batch);
        long rss = target.RssKib();
        _report.RssPeakKib = Math.Max(_report.RssPeakKib, rss);
        if (rss / 1024 > options.MaxRssMib && !_memoryReported)
        {
            _memoryReported = true;
            Find("memory", $"server RSS {rss / 1024} MiB over the {options.MaxRssMib} MiB bound (start {_report.RssStartKib / 1024} MiB)", batch);
        }
        if (_report.Findings.Count >= options.MaxFindings) _stopped = true;
    }

    private async Task CheckControlAsync(List<StanzaFuzzInput> batch)
    {
        if (_control is null || _control.TcpClosed)
        {
            if (_control is not null)
            {
                Find("control-closed", $"the control session (never fuzzed) was closed; stream errors [{string.Join(", ", _control.StreamErrors)}]", batch);
                await _control.DisposeAsync();
            }
            _control = await LoginAsync(_controlUser, "control", smacks: false, batch);
            if (_control is null) return;
        }
        string id = "fzc-" + Interlocked.Increment(ref _pings);
        var answer = _control.WaitForAsync(e => (string?)e.Attribute("id") == id, options.HangTimeout);
        await _control.SendAsync($"<iq type='get' id='{id}' to='{Host}'><ping xmlns='urn:xmpp:ping'/></iq>");
        if (await answer is null) Find("hang", $"the control session's ping was not answered within {options.HangTimeout.TotalSeconds} s", batch);
    }

    /// <summary>A bug-tier log entry: replay the batch one input at a time to find the one that logs it.</summary>
    private async Task ReportLogAsync(List<string> entries, List<StanzaFuzzInput> batch)
    {
        string detail = string.Join("\n", entries.Take(3)) + (entries.Count > 3 ? $"\n(+{entries.Count - 3} more entries)" : "");
        foreach (var input in batch)
        {
            await RunInputAsync(input);
            while (_retry.TryDequeue(out var again)) await RunInputAsync(again);
            if (!input.PreAuth) await DrainAsync(_slots[input.Slot]);
            if (_log.Scan() is { Count: > 0 } again2)
            {
                Find("log", detail + "\n(replayed alone, the input logged: " + again2[0].Split('\n')[0] + ")", [input]);
                return;
            }
        }
        Find("log", detail + "\n(not reproduced by replaying the batch input by input)", batch);
    }

    private void Find(string kind, string detail, IReadOnlyList<StanzaFuzzInput> inputs)
    {
        var finding = new StanzaFuzzFinding(kind, detail, inputs.ToList());
        lock (_report.Findings) _report.Findings.Add(finding);
        options.Progress?.Invoke(finding.ToString());
    }

    /// <summary>Only once the input goes out on the connection it may act on (a login in between would otherwise
    /// clear the mark, and the next login would try an account the input just deleted).</summary>
    private static void MarkSuspect(FuzzSlot slot, StanzaFuzzInput input)
    {
        if (Contains(input.Bytes, "jabber:iq:register")) slot.User.Suspect = true;
    }

    private static bool Contains(byte[] bytes, string text) => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    public async ValueTask DisposeAsync()
    {
        foreach (var slot in _slots)
        {
            if (slot.Connection is { } connection)
            {
                slot.Detach();
                await connection.DisposeAsync();
            }
        }
        if (_control is not null) await _control.DisposeAsync();
    }
}
