namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>One finding of <see cref="ConfigChecker"/>: errors stop the server, warnings do not.</summary>
public sealed record ConfigProblem(bool IsError, string Message);
