-- util.xpcall for LuaXmpp: Lua 5.4's xpcall already passes extra arguments.
return { xpcall = xpcall };
