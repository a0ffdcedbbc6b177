namespace LuaXmpp.Tests.Storage;

public sealed class InternalStorageContractTests() : StorageContractTests("internal");
