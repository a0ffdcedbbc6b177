namespace LuaXmpp.Configuration;

public enum HostKind
{
    VirtualHost,
    Component,
}

/// <summary>
/// One VirtualHost or Component section: its own options only (lookups through
/// <see cref="ServerConfig.Get"/> add the global fallback).
/// </summary>
public sealed record HostConfig(string Name, HostKind Kind, string? ComponentModule, IReadOnlyDictionary<string, object?> Options)
{
    /// <summary>False when the section says <c>enabled = false</c>.</summary>
    public bool Enabled => ConfigValues.AsBoolean(Options.GetValueOrDefault("enabled")) ?? true;
}
