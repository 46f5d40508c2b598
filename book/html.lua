-- book/html.lua: pandoc filter of the HTML edition (book/htmlweave).
-- htmlweave writes a value of the run as \textcolor{run:PLACE}{text} and a
-- claim as \textcolor{claim:LABEL:VERDICT}{sentence}.  Pandoc reads them as
-- spans in the text and leaves them in a formula's TeX; either way they
-- become spans whose data-run (the value's place in the run record),
-- data-claim and data-verdict attributes say where each number comes from
-- and which sentences the run judges.  A false claim is red.  LaTeX that
-- pandoc could not read is dropped, and named on the standard error unless
-- it is layout.
local function mark(kind, value, attr, classes)
  if kind == 'run' then
    attr['data-run'] = attr['data-run'] and attr['data-run'] .. ' ' .. value or value
  else
    local label, verdict = value:match('^(.*):(%a+)$')
    attr['data-claim'] = attr['data-claim'] and attr['data-claim'] .. ' ' .. label or label
    attr['data-verdict'] = attr['data-verdict'] == 'false' and 'false' or verdict
    if verdict == 'false' then classes[1] = 'falseclaim' end
  end
end
local function span(el)
  local kind, value = (el.attributes.style or ''):match('^color: (%a+):(.*)$')
  if kind ~= 'run' and kind ~= 'claim' then return nil end
  local attr, classes = {}, {}
  mark(kind, value, attr, classes)
  return pandoc.Span(el.content, pandoc.Attr('', classes, attr))
end
local function math(m)
  local attr, classes, text, n, k = {}, {}, m.text, 0, 0
  repeat      -- (a value inside a claim: the claim first)
    text, k = text:gsub('\\textcolor{(%a+):([^}]*)}(%b{})', function (kind, value, body)
      mark(kind, value, attr, classes)
      return body
    end)
    n = n + k
  until k == 0
  -- a long formula in the text scrolls in a box of its own on a phone
  if m.mathtype == 'InlineMath' and #text > 40 then table.insert(classes, 'wide') end
  if n == 0 and #classes == 0 then return nil end
  return pandoc.Span({pandoc.Math(m.mathtype, text)}, pandoc.Attr('', classes, attr))
end
local layout = {'noindent', 'medskip', 'smallskip', 'bigskip', 'par', 'hfill', 'centering', 'small',
  'Large', 'large', 'phantomsection', 'normalfont', 'relax', 'raggedright', 'let', 'def', 'setlength',
  'vspace', 'hspace', 'bookmarksetup', 'quad', 'Needspace', 'addcontentsline', 'nocite', 'maketitle',
  'tableofcontents', 'cleardoublepage', 'pagenumbering', 'pdfbookmark', 'setcounter', 'nopagebreak', 'penalty',
  'tgkeepchunkstrue', 'tgkeepchunksfalse'}
local function drop(el)
  if el.format ~= 'latex' then return nil end
  local cs = el.text:match('^\\(%a+)')
  for _, l in ipairs(layout) do if cs == l then return {} end end
  io.stderr:write('html.lua: dropped LaTeX: ' .. el.text:sub(1, 100):gsub('%s+', ' ') .. '\n')
  return {}
end
-- The number of formulas of each chapter, at its end, for book/html-check:
-- the page must show as many MathML elements.
local function count(doc)
  local blocks, n = {}, 0
  local function flush()
    table.insert(blocks, pandoc.RawBlock('html', '<!-- tinygpt-math: ' .. n .. ' -->'))
    n = 0
  end
  for _, b in ipairs(doc.blocks) do
    if b.t == 'Header' and b.level == 1 then flush() end
    pandoc.walk_block(b, {Math = function () n = n + 1 end})
    table.insert(blocks, b)
  end
  flush()
  doc.blocks = blocks
  return doc
end
return {{RawInline = drop, RawBlock = drop, Math = math, Span = span,
         Table = function (t) return pandoc.Div({t}, {class = 'scroll'}) end},
        {Pandoc = count}}
