// A Vue 3 component around herald.js, with no build step: Vue's browser
// ES module build compiles the template in the page.
import { createApp, onMounted, onUnmounted, reactive } from '../vendor/vue.esm-browser.prod.js';
import { connect } from '../herald.js';
import { demoToken, demoUser } from './demo-token.js';

export const HeraldInbox = {
  props: { user: { type: String, required: true } },
  setup(props) {
    const view = reactive({ messages: [], state: 'connecting', transport: null });
    let client = null;
    // History and live messages may overlap (a first visit resumes from
    // the start): each id is shown once.
    const add = (m) => {
      if (view.messages.some((x) => x.id === m.id)) return;
      view.messages.push(m);
      view.messages.sort((a, b) => b.seq - a.seq);
    };
    onMounted(async () => {
      client = connect(location.origin, {
        token: () => demoToken(props.user),
      });
      client.on('message', add);
      client.on('state', (s) => Object.assign(view, s));
      const page = await client.history({ limit: 20 });
      page.messages.forEach(add);
    });
    onUnmounted(() => client && client.close());
    const read = async (m) => {
      await client.markRead(m.id);
      m.read_at = new Date().toISOString();
    };
    return { view, read };
  },
  template: `
    <section class="card">
      <div class="row">
        <h2 class="grow">{{ user }}'s messages</h2>
        <span :class="['pill', view.state]">{{ view.state }}</span>
        <span class="pill">{{ view.transport || '–' }}</span>
      </div>
      <p v-if="!view.messages.length" class="muted">No messages yet.</p>
      <ul class="list">
        <li v-for="m in view.messages" :key="m.id" :class="{ unread: !m.read_at }">
          <div class="grow">
            <div class="title">{{ m.title || m.template }}</div>
            <div>{{ m.body }}</div>
            <div class="muted">#{{ m.seq }}</div>
          </div>
          <button v-if="!m.read_at" class="quiet" @click="read(m)">Mark read</button>
        </li>
      </ul>
    </section>`,
};

createApp({
  components: { HeraldInbox },
  setup: () => ({ user: demoUser() }),
  template: '<herald-inbox :user="user" />',
}).mount('#app');
