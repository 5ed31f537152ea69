// The DAG pages' small scripts: collapsible task groups and auto-refresh of
// the grid while a run is queued or running (every 3 s), and the live tail
// of a task instance's log while its try runs (every 2 s).
(function () {
  'use strict';

  function bindGroups(grid) {
    grid.querySelectorAll('[data-testid="group-toggle"]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var open = btn.getAttribute('aria-expanded') !== 'true';
        btn.setAttribute('aria-expanded', String(open));
        btn.textContent = (open ? '▾ ' : '▸ ') + btn.textContent.slice(2);
        var id = btn.getAttribute('data-group');
        grid.querySelectorAll('tr[data-groups]').forEach(function (row) {
          var groups = row.getAttribute('data-groups').split(' ');
          if (groups.indexOf(id) >= 0) row.hidden = !open;
        });
      });
    });
  }

  // Cells carry no title (a grid has thousands): it is made on hover.
  document.addEventListener('mouseover', function (e) {
    var c = e.target;
    if (!c.classList || !c.classList.contains('c') || c.title) return;
    c.title = c.getAttribute('data-task-id') + ' · ' + c.getAttribute('data-run-id') + ' · ' + c.getAttribute('data-state');
  });

  var grid = document.getElementById('grid');
  if (grid) {
    bindGroups(grid);
    var refresh = function () {
      if (document.getElementById('grid').getAttribute('data-active') !== 'true') return;
      setTimeout(function () {
        fetch(location.href, { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, 'text/html');
            var fresh = doc.getElementById('grid');
            if (!fresh) return;
            var old = document.getElementById('grid');
            old.replaceWith(fresh);
            bindGroups(fresh);
            refresh();
          })
          .catch(function () { setTimeout(refresh, 3000); });
      }, 3000);
    };
    refresh();
  }

  var log = document.getElementById('log');
  if (log && log.getAttribute('data-ended') !== 'true') {
    var status = document.getElementById('log-status');
    var tail = function () {
      var url = log.getAttribute('data-url') + '&after=' + log.getAttribute('data-seq');
      fetch(url, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (j) {
          j.chunks.forEach(function (c) {
            log.appendChild(document.createTextNode(c.content));
            log.setAttribute('data-seq', String(c.seq));
          });
          if (j.ended) {
            log.setAttribute('data-ended', 'true');
            if (status) status.textContent = 'This try has ended.';
          } else {
            setTimeout(tail, 2000);
          }
        })
        .catch(function () { setTimeout(tail, 2000); });
    };
    setTimeout(tail, 2000);
  }
})();
