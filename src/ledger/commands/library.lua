--[[
  The head of the ledger's function library (src/ledger/function-library.ts): the includes
  follow it, each once, then one registered function per operation file.

  A library is loaded once and its top-level values live as long as it does: the helpers are
  made once, not on every call, but a table a call changes keeps the change for the next
  call. Such state registers its reset with onEachCall; every function runs the resets first.
]]
local EACH_CALL = {}

local function onEachCall(reset)
  EACH_CALL[#EACH_CALL + 1] = reset
end

local function beginCall()
  for i = 1, #EACH_CALL do
    EACH_CALL[i]()
  end
end
