namespace LuaXmpp.Storage;

/// <summary>
/// The storage options ask for something this server cannot do (e.g. <c>sql = { driver = "MySQL" }</c>).
/// Thrown when the storage manager is created, so the server stops before serving anyone rather
/// than storing data somewhere the operator did not ask for. The message is the one line to show.
/// </summary>
public sealed class StorageConfigException(string message) : Exception(message);
