package workerd

import "slices"

// learnManagers passes on the managers a reply lists. A worker fails over
// between managers through its Manager client (client.NewWithServers
// tries the next manager when one stops answering, over the URLs of
// --manager or those a dns+srv:// name resolves to); what the worker adds
// is the current list, which every registration and heartbeat reply
// carries, so it follows managers that join or leave after it started
// (client.Servers.Learn).
// Failing over touches nothing else: the task map, and so every
// container, stays as it is. An empty list (a lone manager, or one that
// could not read the list) changes nothing.
func (w *Worker) learnManagers(urls []string) {
	if len(urls) == 0 || w.opts.OnManagers == nil {
		return
	}
	w.mu.Lock()
	changed := !slices.Equal(urls, w.managers)
	w.managers = slices.Clone(urls)
	w.mu.Unlock()
	if changed {
		w.log.Info("the managers to fail over between", "managers", urls)
		w.opts.OnManagers(slices.Clone(urls))
	}
}
