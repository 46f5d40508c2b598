-- book/html.lua: pandoc filter for the HTML edition (book/htmlweave).
-- book/htmlweave has already expanded the run's macros and replaced the
-- chunks, figures and tables; what LaTeX pandoc could not read is left as
-- raw LaTeX, which the HTML writer would drop silently.  This filter drops
-- it too, but names it on the standard error, so that nothing is lost
-- without a word.  Layout-only commands are dropped without a word.
local quiet = {
  ['\\noindent'] = true, ['\\medskip'] = true, ['\\smallskip'] = true,
  ['\\bigskip'] = true, ['\\par'] = true, ['\\hfill'] = true,
  ['\\centering'] = true, ['\\small'] = true, ['\\Large'] = true,
  ['\\phantomsection'] = true, ['\\normalfont'] = true, ['\\relax'] = true, ['\\raggedright'] = true,
}
local function drop(el)
  if el.format == 'latex' or el.format == 'tex' then
    local t = el.text:gsub('%s+$', '')
    local layout = false
    for _, p in ipairs({'let', 'def', 'setlength', 'vspace', 'hspace', 'bookmarksetup', 'quad'}) do
      if t:sub(1, #p + 1) == '\\' .. p then layout = true end
    end
    if not quiet[t] and not layout then
      io.stderr:write('html.lua: dropped LaTeX: ' .. t:sub(1, 120):gsub('\n', ' ') .. '\n')
    end
    return {}
  end
end
-- The number of formulas, for book/html-check: the page must show as
-- many MathML elements (a formula pandoc cannot convert is left as TeX).
local function count(doc)
  local n = 0
  pandoc.walk_block(pandoc.Div(doc.blocks), { Math = function (m) n = n + 1 end })
  doc.blocks:insert(pandoc.RawBlock('html', '<!-- tinygpt-math: ' .. n .. ' -->'))
  return doc
end
return {{ RawInline = drop, RawBlock = drop }, { Pandoc = count }}
