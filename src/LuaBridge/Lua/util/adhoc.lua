-- util.adhoc: helpers that turn a data form into an ad-hoc command handler (XEP-0050 §3.4).
-- A handler is called as handler(command, data, state); it returns the response table that
-- mod_adhoc renders, and a state when the command stays in the "executing" stage.

-- The first call shows the form; the next call (or one that already carries a form) submits it.
local function new_simple_form(form, result_handler)
	return function(_, data, state)
		if not state and not data.form then
			return { status = "executing", form = form,
				actions = { "next", "complete", default = "complete" } }, "executing";
		end
		if data.action == "cancel" then return { status = "canceled" }; end
		local fields, err = form:data(data.form);
		return result_handler(fields, err, data);
	end
end

-- As new_simple_form, but the form shown first is filled with initial_data(data).
local function new_initial_data_form(form, initial_data, result_handler)
	return function(_, data, state)
		if state or data.form then
			if data.action == "cancel" then return { status = "canceled" }; end
			local fields, err = form:data(data.form);
			return result_handler(fields, err, data);
		end
		local values, problem = initial_data(data);
		local problem_type = type(problem);
		if problem_type == "table" then
			return { status = "error", error = problem };
		elseif problem_type == "string" then
			return { status = "error", error = { type = "cancel", condition = "internal-server-error", problem } };
		end
		return { status = "executing", form = { layout = form, values = values },
			actions = { "next", "complete", default = "complete" } }, "executing";
	end
end

return {
	new_simple_form = new_simple_form,
	new_initial_data_form = new_initial_data_form,
};
