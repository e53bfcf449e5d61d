import { createRouter, createWebHistory } from 'vue-router'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'overview', component: () => import('./views/OverviewView.vue') },
    { path: '/datasets', name: 'datasets', component: () => import('./views/DatasetsView.vue') },
    {
      path: '/datasets/:dataset',
      name: 'dataset',
      component: () => import('./views/DatasetView.vue'),
      props: true,
    },
    { path: '/jobs', name: 'jobs', component: () => import('./views/JobsView.vue') },
    { path: '/jobs/new', name: 'new-job', component: () => import('./views/NewJobView.vue') },
    { path: '/jobs/compare', name: 'compare', component: () => import('./views/CompareView.vue') },
    {
      path: '/jobs/:id(\\d+)',
      name: 'job',
      component: () => import('./views/JobView.vue'),
      props: (route) => ({ id: Number(route.params.id) }),
    },
    { path: '/models', name: 'models', component: () => import('./views/ModelsView.vue') },
    {
      path: '/models/:name/:version?',
      name: 'model',
      component: () => import('./views/ModelView.vue'),
      props: true,
    },
    {
      path: '/deployments',
      name: 'deployments',
      component: () => import('./views/DeploymentsView.vue'),
    },
    {
      path: '/deployments/:name',
      name: 'deployment',
      component: () => import('./views/DeploymentView.vue'),
      props: true,
    },
    { path: '/labeling', name: 'labeling', component: () => import('./views/LabelProjectsView.vue') },
    {
      path: '/labeling/:name',
      name: 'label-project',
      component: () => import('./views/LabelProjectView.vue'),
      props: true,
    },
    { path: '/lab', name: 'lab', component: () => import('./views/LabView.vue') },
    { path: '/lab/playground', name: 'lab-playground', component: () => import('./views/LabPlaygroundView.vue') },
    { path: '/lab/activations', name: 'lab-activations', component: () => import('./views/LabActivationsView.vue') },
    { path: '/lab/optimizers', name: 'lab-optimizers', component: () => import('./views/LabOptimizersView.vue') },
    {
      path: '/lab/convolution',
      name: 'lab-convolution',
      component: () => import('./views/ConvolutionLabView.vue'),
    },
    { path: '/lab/cnn', name: 'lab-cnn', component: () => import('./views/CnnLabView.vue') },
    { path: '/audit', name: 'audit', component: () => import('./views/AuditView.vue') },
    { path: '/:rest(.*)*', name: 'missing', component: () => import('./views/MissingView.vue') },
  ],
})
