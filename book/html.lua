-- book/html.lua: pandoc filter of the HTML edition (book/htmlweave).
-- A value of the run reaches pandoc as \tgrun{place}{text}: it becomes the
-- text, in a span whose data-run attribute names its place in the run
-- record (a formula's span names all of its places), so that a page knows
-- where each of its numbers comes from.  Other LaTeX that pandoc could not
-- read is dropped, and named on the standard error unless it is layout.
local function run(s)
  return s:match('^\\tgrun%s*(%b{})%s*(%b{})')
end
local layout = {'noindent', 'medskip', 'smallskip', 'bigskip', 'par', 'hfill', 'centering', 'small',
  'Large', 'large', 'phantomsection', 'normalfont', 'relax', 'raggedright', 'let', 'def', 'setlength',
  'vspace', 'hspace', 'bookmarksetup', 'quad', 'Needspace', 'addcontentsline', 'nocite', 'maketitle',
  'tableofcontents', 'cleardoublepage', 'pagenumbering', 'pdfbookmark', 'setcounter', 'nopagebreak', 'penalty'}
local function drop(el)
  if el.format ~= 'latex' then return nil end
  local place, text = run(el.text)
  if place then
    local blocks = pandoc.read(text:sub(2, -2), 'latex').blocks
    return pandoc.Span(blocks[1] and blocks[1].content or {}, {['data-run'] = place:sub(2, -2)})
  end
  local cs = el.text:match('^\\(%a+)')
  for _, l in ipairs(layout) do if cs == l then return {} end end
  io.stderr:write('html.lua: dropped LaTeX: ' .. el.text:sub(1, 100):gsub('%s+', ' ') .. '\n')
  return {}
end
local function math(m)
  local places = {}
  local text = m.text:gsub('\\tgrun%s*(%b{})%s*(%b{})', function (p, v)
    table.insert(places, p:sub(2, -2))
    return v
  end)
  -- TRANSITION: the old interface (\fpeval and the helpers built on it) is
  -- on its way out of the prose; until then its formulas print as [?].
  if text:match('\\ifnum') or text:match('\\tg%a') then text = '\\text{[?]}' end
  local attr = {}
  if #places > 0 then attr['data-run'] = table.concat(places, ' ') end
  -- a long formula in the text scrolls in a box of its own on a phone
  local wide = m.mathtype == 'InlineMath' and #text > 40
  if #places == 0 and not wide then return nil end
  return pandoc.Span({pandoc.Math(m.mathtype, text)}, pandoc.Attr('', wide and {'wide'} or {}, attr))
end
-- A claim (htmlweave's \textcolor{claim:LABEL:VERDICT}{...}) is a span that
-- names its label and the trainer's verdict; a false one is red.
local function claim(el)
  local label, verdict = (el.attributes.style or ''):match('^color: claim:(.*):(%a+)$')
  if not label then return nil end
  return pandoc.Span(el.content, pandoc.Attr('', verdict == 'false' and {'falseclaim'} or {},
    {['data-claim'] = label, ['data-verdict'] = verdict}))
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
return {{RawInline = drop, RawBlock = drop, Math = math, Span = claim,
         Table = function (t) return pandoc.Div({t}, {class = 'scroll'}) end},
        {Pandoc = count}}
