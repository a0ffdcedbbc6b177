using System.Text.Json;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>The JSON a client script printed, with everything needed to explain a failure.</summary>
public sealed record ClientResult(string Script, CommandResult Command, JsonElement? Json, ServerProcess Server)
{
    public bool Ok => Command.ExitCode == 0 && Json is { } json && json.TryGetProperty("ok", out var ok) && ok.GetBoolean();

    public JsonElement Root => Json ?? throw Failure("the script printed no JSON result");

    /// <summary>A property by dotted path (e.g. <c>"version.name"</c>); fails the test when missing.</summary>
    public JsonElement this[string path]
    {
        get
        {
            var current = Root;
            foreach (var part in path.Split('.'))
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
                {
                    throw Failure($"the result has no '{path}'");
                }
            }

            return current;
        }
    }

    public string? String(string path) => this[path].ValueKind == JsonValueKind.Null ? null : this[path].GetString();

    public string[] Strings(string path) => this[path].EnumerateArray().Select(e => e.GetString() ?? "").ToArray();

    public ClientResult AssertOk()
    {
        if (!Ok)
        {
            throw Failure("the client scenario failed");
        }

        return this;
    }

    public XunitException Failure(string message) =>
        new($"{Script}: {message}\n--- client {Command}\n{Server.Describe()}");

    /// <summary>Runs assertions on the result; a failing one carries client and server output.</summary>
    public void Check(Action<ClientResult> assertions)
    {
        try
        {
            assertions(this);
        }
        catch (XunitException e)
        {
            throw new XunitException($"{e.Message}\n{Failure("assertion failed").Message}", e);
        }
    }
}
