-- DBI: LuaXmpp's own LuaDBI for modules that require "DBI" (mod_auth_sql), with the SQLite3 and
-- PostgreSQL drivers over the C# natives in LuaRuntime.Dbi.cs. Calls look synchronous, as
-- LuaDBI's: inside a util.async runner the runner suspends while the database works
-- (bridge.await); outside every runner the loop never waits: a query raises, a commit goes on.
-- prepare() only keeps the SQL: the statement reaches the database (and its errors come back) at
-- execute(). A statement's rows are read whole at execute() and handed out by fetch()/rows().

local N_dbi = require "luaxmpp.native.dbi";
local await = require "core.bridge".await;

local setmetatable, select, type, tostring, error = setmetatable, select, type, tostring, error;

local DRIVERS = { SQLite3 = true, PostgreSQL = true };

local statement_methods = {};
local statement_mt = { __index = statement_methods };

-- true, or false and the database's message.
function statement_methods:execute(...)
	local conn = self.connection;
	if not conn.id then return false, "database connection is closed"; end
	local columns, rows, affected = await(N_dbi.dbi_execute(conn.id, self.sql, { n = select("#", ...), ... }));
	if not columns then return false, tostring(rows); end
	self.column_names, self.result, self.changed, self.cursor = columns, rows, affected, 0;
	return true;
end

-- The next row (an array, or keyed by column name when named), or nil after the last one.
function statement_methods:fetch(named)
	local rows = self.result;
	if not rows then return nil; end
	local i = self.cursor + 1;
	local row = rows[i];
	if not row then return nil; end
	self.cursor = i;
	if not named then return row; end
	local keyed = {};
	for c, name in ipairs(self.column_names) do keyed[name] = row[c]; end
	return keyed;
end

function statement_methods:rows(named)
	return function() return self:fetch(named); end;
end

function statement_methods:affected() return self.changed or 0; end
function statement_methods:rowcount() return self.result and #self.result or 0; end
function statement_methods:columns() return self.column_names or {}; end
function statement_methods:close() self.result = nil; self.closed = true; return true; end

local connection_methods = {};
local connection_mt = {
	__index = connection_methods,
	__gc = function(conn) if conn.id then N_dbi.dbi_close(conn.id); end end,
};

function connection_methods:prepare(sql)
	if not self.id then return nil, "database connection is closed"; end
	if type(sql) ~= "string" then return nil, "SQL text expected"; end
	return setmetatable({ connection = self, sql = sql }, statement_mt);
end

function connection_methods:ping()
	if not self.id then return false; end
	return await(N_dbi.dbi_ping(self.id)) == true;
end

local function call(conn, name, ...)
	if not conn.id then return false, "database connection is closed"; end
	local ok, err = await(N_dbi[name](conn.id, ...));
	if not ok then return false, tostring(err); end
	return true;
end

function connection_methods:commit() return call(self, "dbi_end", true); end
function connection_methods:rollback() return call(self, "dbi_end", false); end
function connection_methods:autocommit(on) return call(self, "dbi_autocommit", on and true or false); end

function connection_methods:close()
	if not self.id then return false; end
	N_dbi.dbi_close(self.id);
	self.id = nil;
	return true;
end

-- A string as an SQL literal's body (single quotes doubled), as the drivers' quote() gives it.
function connection_methods:quote(s) return (tostring(s):gsub("'", "''")); end

local M = { _VERSION = "0.7" };

function M.Drivers()
	return { "PostgreSQL", "SQLite3" };
end

-- Connect(driver, name, user, password, host, port) → connection, or nil and a message.
function M.Connect(driver, ...)
	if not DRIVERS[driver] then
		error(("Driver '%s' not found. Available drivers are: PostgreSQL,SQLite3"):format(tostring(driver)), 2);
	end
	local id, err = await(N_dbi.dbi_connect(driver, ...));
	if not id then return nil, tostring(err); end
	return setmetatable({ id = id, driver = driver }, connection_mt);
end

-- Prepares and executes sql with its parameters: the rows changed, or false and a message.
function M.Do(conn, sql, ...)
	local statement, err = conn:prepare(sql);
	if not statement then return false, err; end
	local ok, exec_err = statement:execute(...);
	if not ok then return false, exec_err; end
	return statement:affected();
end

return M;
